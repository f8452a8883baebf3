"""The BentoML service: POST /predict answers one prediction per row of a validated request."""

from __future__ import annotations

import json
from typing import Annotated, Any

import bentoml
import pandas as pd
from pydantic import Field

from .data.contract import parse_schema
from .model.artifacts import TrainedModel
from .serve.api import MAX_ROWS, MODEL_NAME, PREDICTION_MODELS, predictions, row_model
from .serve.prediction_log import LoggedPredictions, PredictionLog
from .serve.shedding import RetryAfterWhenShedding

# The request and response schemas follow the stored model: its input columns, their types and
# checks (from the data contract it was trained under) and its task. So the OpenAPI document,
# and every client generated from it, describes exactly what this bento answers. BentoML
# resolves the name to the bento's own model version before it imports this module.
_STORED = bentoml.models.get(MODEL_NAME)
_RUN = _STORED.custom_objects["run"]
_FEATURES = _RUN["params"]["features"]
Row = row_model(
    parse_schema(_RUN["schema"]).select_columns(
        [*_FEATURES["categorical"], *_FEATURES["numeric"], *_FEATURES.get("datetime", [])]
    )
)
Rows = Annotated[list[Row], Field(min_length=1, max_length=MAX_ROWS)]  # type: ignore[valid-type]
Prediction = PREDICTION_MODELS[_RUN["params"]["task"]]


class JsonBodiesOnly:
    """ASGI middleware: a POST whose body is not JSON gets 415, not BentoML's parsers.

    BentoML also parses multipart and other bodies, and answers 500 to a malformed one (a
    multipart Content-Type without a boundary); /predict only ever takes JSON.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            media_type = headers.get(b"content-type", b"application/json").split(b";")[0]
            if media_type.strip().lower() != b"application/json":
                await _refuse(send, 415, "send the rows as JSON (Content-Type: application/json)")
                return
        await self.app(scope, receive, send)


async def _refuse(send: Any, status: int, reason: str) -> None:
    body = json.dumps({"error": reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@bentoml.service(name="{{ cookiecutter.package_name }}", traffic={"timeout": 30})
class PredictionService:
    """Loads the trained pipeline and its run record once per worker."""

    def __init__(self) -> None:
        stored = bentoml.models.get(MODEL_NAME)
        self.model = TrainedModel(bentoml.sklearn.load_model(stored), stored.custom_objects["run"])

    # Adaptive batching pays here: a model call costs about the same for 1 row as for 100, so
    # concurrent small requests are merged (rows lists are concatenated, answers split back).
    # It fits a rows-list API because /predict has exactly one list argument and returns one
    # list item per row, which is what BentoML's batching needs.
    @bentoml.api(batchable=True, max_batch_size=MAX_ROWS, max_latency_ms=1000)
    def predict(self, rows: Rows) -> list[Prediction]:  # type: ignore[valid-type]
        """One prediction per row, in order: `prediction`, or `label` and `probabilities`."""
        frame = pd.DataFrame([row.model_dump() for row in rows])
        return predictions(self.model.task, self.model.predict(frame), self.model.classes)


PredictionService.add_asgi_middleware(JsonBodiesOnly)
# every answered row goes to the prediction log (serving.log_dir, or $PREDICTION_LOG_DIR)
PredictionService.add_asgi_middleware(LoggedPredictions, log=PredictionLog.for_model(_STORED))
PredictionService.add_asgi_middleware(RetryAfterWhenShedding)
