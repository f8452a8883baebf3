"""Stand-ins for the `gh`, `docker` and `bentoml containerize` commands that workflow steps call.

`gh` answers the REST calls the workflows make from a JSON file that plays GitHub (pull requests,
comments, releases); `docker` records builds and pushes and, for `docker run`, serves the bento
for real with `bentoml serve`, so the release smoke test talks to the real service; `bentoml`
passes everything to the real BentoML except `containerize`, which it records. State lives in
$HARNESS_STATE. Usage: python workflow_stand_ins.py {gh|docker|bentoml} ARGS...
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import zlib
from pathlib import Path


def fail(message: str, code: int = 1) -> None:
    print(message, file=sys.stderr)
    sys.exit(code)


# ---------------------------------------------------------------- GitHub


def github_state(state: Path) -> dict:
    path = state / "github.json"
    if not path.exists():
        return {
            "pulls": [],
            "comments": [],
            "releases": [],
            "next_number": 1,
            "next_comment": 1000,
            "calls": [],
        }
    return json.loads(path.read_text())


def save_github_state(state: Path, data: dict) -> None:
    (state / "github.json").write_text(json.dumps(data, indent=2))


def parse_api_args(args: list[str]) -> tuple[str, str, dict[str, str]]:
    method, endpoint, fields = None, None, {}
    iterator = iter(args)
    for arg in iterator:
        if arg in ("-X", "--method"):
            method = next(iterator)
        elif arg in ("-f", "--raw-field", "-F", "--field"):
            key, value = next(iterator).split("=", 1)
            if arg in ("-F", "--field") and value.startswith("@"):
                value = Path(value[1:]).read_text()
            fields[key] = value
        elif arg in ("-H", "--header", "--jq", "-q", "--template", "-t"):
            if arg in ("--jq", "-q", "--template", "-t"):
                fail("gh stand-in: pipe to jq instead of --jq/--template (the harness has no gojq)")
            next(iterator)
        elif arg in ("--paginate", "--silent", "--include", "-i"):
            continue
        elif arg.startswith("-"):
            fail(f"gh stand-in: unsupported flag {arg}")
        else:
            endpoint = arg.lstrip("/")
    if endpoint is None:
        fail("gh api: endpoint required")
    return method or ("POST" if fields else "GET"), endpoint, fields


def gh_api(args: list[str], silent: bool) -> None:
    state_dir = Path(os.environ["HARNESS_STATE"])
    data = github_state(state_dir)
    method, endpoint, fields = parse_api_args(args)
    data["calls"].append({"method": method, "endpoint": endpoint, "fields": fields})
    parts = endpoint.split("?")[0].split("/")
    repository = os.environ["GITHUB_REPOSITORY"]
    if parts[:3] != ["repos", *repository.split("/")]:
        fail(f"gh: Not Found (HTTP 404) {endpoint}")
    answer = route(data, method, parts[3:], fields)
    save_github_state(state_dir, data)
    if not silent:
        print(json.dumps(answer))


def route(data: dict, method: str, path: list[str], fields: dict[str, str]):
    if method == "GET" and path == ["pulls"]:
        owner, _, branch = fields.get("head", ":").partition(":")
        return [
            pr
            for pr in data["pulls"]
            if pr["state"] == fields.get("state", "open")
            and (
                not fields.get("head")
                or (pr["head"]["repo"]["owner"]["login"], pr["head"]["ref"]) == (owner, branch)
            )
            and (not fields.get("base") or pr["base"]["ref"] == fields["base"])
        ]
    if method == "GET" and len(path) == 3 and path[:2] == ["releases", "tags"]:
        found = [r for r in data["releases"] if r["tag"] == path[2]]
        if not found:
            fail(f"gh: Not Found (HTTP 404) release {path[2]}")
        repository = os.environ["GITHUB_REPOSITORY"]
        return {
            "tag_name": path[2],
            "body": found[0].get("notes-file", ""),
            "html_url": f"https://github.com/{repository}/releases/tag/{path[2]}",
        }
    if method == "GET" and len(path) == 2 and path[0] == "branches":
        return {"name": path[1], "commit": {"sha": branch_tip(path[1])}}
    if method == "GET" and len(path) == 4 and path[:2] == ["actions", "runs"]:
        return run_artifacts(path[2], fields.get("name"))
    if method == "GET" and len(path) == 3 and path[0] == "commits" and path[2] == "pulls":
        return [
            pr for pr in data["pulls"] if path[1] in (pr.get("merge_commit_sha"), pr["head"]["sha"])
        ]
    if len(path) == 3 and path[0] == "issues" and path[2] == "comments":
        number = int(path[1])
        if not any(pr["number"] == number for pr in data["pulls"]):
            fail(f"gh: Not Found (HTTP 404) issue {number}")
        if method == "GET":
            return [c for c in data["comments"] if c["issue"] == number]
        if method == "POST":
            comment = {
                "id": data["next_comment"],
                "issue": number,
                "body": fields["body"],
                "edits": 0,
                "user": token_user(),
            }
            data["next_comment"] += 1
            data["comments"].append(comment)
            return comment
    if method == "PATCH" and len(path) == 3 and path[:2] == ["issues", "comments"]:
        for comment in data["comments"]:
            if comment["id"] == int(path[2]):
                if comment["user"] != token_user():
                    fail("gh: Forbidden (HTTP 403): only the author may edit a comment here")
                comment["body"] = fields["body"]
                comment["edits"] += 1
                return comment
    fail(f"gh stand-in: no route for {method} {'/'.join(path)}")


def token_user() -> dict:
    """Who the token acts as: GITHUB_TOKEN is the github-actions[bot] App."""
    return {"login": "github-actions[bot]", "type": "Bot"}


def run_artifacts(run_id: str, name: str | None) -> dict:
    """GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts, from the harness's store."""
    root = Path(os.environ["HARNESS_STATE"]) / "artifacts" / run_id
    artifacts = [
        {
            "id": artifact_id(run_id, folder.name),
            "name": folder.name,
            "size_in_bytes": sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()),
            "expired": False,
        }
        for folder in sorted(root.iterdir() if root.is_dir() else [])
        if folder.is_dir()
        if name in (None, folder.name)
    ]
    return {"total_count": len(artifacts), "artifacts": artifacts}


def artifact_id(run_id: str, name: str) -> int:
    """A stable id for the harness's artifact `name` of run `run_id` (GitHub's are integers)."""
    return zlib.crc32(f"{run_id}/{name}".encode())


def branch_tip(branch: str) -> str:
    """Where `branch` of the test's repository is now (HARNESS_REPO plays GitHub's copy)."""
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=os.environ["HARNESS_REPO"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        fail(f"gh: Branch not found (HTTP 404) {branch}")
    return done.stdout.strip()


def gh_release(args: list[str]) -> None:
    """`gh release create|view|edit TAG [--flag value | --flag=value]...`."""
    state_dir = Path(os.environ["HARNESS_STATE"])
    data = github_state(state_dir)
    command, tag, flags = args[0], args[1], {}
    iterator = iter(args[2:])
    for arg in iterator:
        name, _, value = arg.partition("=")
        value = value if "=" in arg else next(iterator)
        key = name.lstrip("-")
        flags[key] = Path(value).read_text() if key == "notes-file" else value
    found = [r for r in data["releases"] if r["tag"] == tag]
    if command == "view":
        if not found:
            fail("release not found")
        print(json.dumps(found[0]))
        return
    if command == "edit":
        if not found:
            fail("release not found")
        found[0].update(flags, edits=found[0].get("edits", 0) + 1)
    elif command == "create":
        if found:
            fail(f"a release with tag {tag} already exists")
        data["releases"].append({"tag": tag, **flags})
    else:
        fail(f"gh stand-in: release {command} is not supported")
    save_github_state(state_dir, data)


def gh(args: list[str]) -> None:
    if not os.environ.get("GH_TOKEN"):
        fail(
            "gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN variable.",
            4,
        )
    if args[:1] == ["api"]:
        gh_api(args[1:], silent="--silent" in args)
    elif args[:1] == ["release"]:
        gh_release(args[1:])
    else:
        fail(f"gh stand-in: gh {' '.join(args[:2])} is not supported")


# ---------------------------------------------------------------- docker and bentoml


def docker_state(state: Path) -> dict:
    path = state / "docker.json"
    if not path.exists():
        return {
            "images": {},
            "containers": {},
            "logins": [],
            "pushed": [],
            "calls": [],
            "registry": {},  # name:tag -> digest, as the registry holds them
            "repo_digests": {},  # local name:tag -> the name@digest it was pushed as
        }
    return json.loads(path.read_text())


def save_docker_state(state: Path, data: dict) -> None:
    (state / "docker.json").write_text(json.dumps(data, indent=2))


def options(args: list[str], flags_with_values: set[str]) -> tuple[dict[str, str], list[str]]:
    found, rest, iterator = {}, [], iter(args)
    for arg in iterator:
        if arg in flags_with_values:
            found[arg] = next(iterator)
        elif arg.startswith("-"):
            found[arg] = "true"
        else:
            rest.append(arg)
    return found, rest


def docker_run(data: dict, args: list[str], state: Path) -> None:
    """`docker run --detach --name N --publish HOST:PORT IMAGE`: serve its bento for real."""
    found, rest = options(args, {"--name", "--publish", "-p"})
    image = rest[0]
    if image not in data["images"]:
        fail(f"Unable to find image '{image}' locally")
    port = (found.get("--publish") or found["-p"]).split(":")[0]
    log = (state / f"container-{found['--name']}.log").open("w")
    process = subprocess.Popen(
        [real_bentoml(), "serve", data["images"][image], "--host", "127.0.0.1", "--port", port],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    data["containers"][found["--name"]] = process.pid


def docker_inspect_remote(data: dict, image: str) -> None:
    """`docker buildx imagetools inspect IMAGE`: its text output, from the registry."""
    if image.split("/")[0] not in data["logins"]:
        fail(f"unauthorized: not logged in to {image.split('/')[0]}")
    if image not in data["registry"]:
        fail(f"{image}: not found")
    print(f"Name:      {image}")
    print("MediaType: application/vnd.oci.image.manifest.v1+json")
    print(f"Digest:    {data['registry'][image]}")


def docker(args: list[str]) -> None:
    state = Path(os.environ["HARNESS_STATE"])
    data = docker_state(state)
    data["calls"].append(args)
    command, rest = args[0], args[1:]
    if command == "run":
        docker_run(data, rest, state)
    elif command == "rm":
        for name in [a for a in rest if not a.startswith("-")]:
            pid = data["containers"].pop(name, None)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGTERM)
    elif command == "save":
        found, rest = options(rest, {"--output", "-o"})
        Path(found.get("--output") or found["-o"]).write_text(
            json.dumps({"image": rest[0], "bento": data["images"][rest[0]]})
        )
    elif command == "load":
        found, _ = options(rest, {"--input", "-i"})
        saved = json.loads(Path(found.get("--input") or found["-i"]).read_text())
        data["images"][saved["image"]] = saved["bento"]
    elif command == "tag":
        data["images"][rest[1]] = data["images"][rest[0]]
    elif args[:3] == ["buildx", "imagetools", "inspect"]:
        docker_inspect_remote(data, args[3])
    elif command == "push":
        registry = rest[0].split("/")[0]
        if rest[0] not in data["images"]:
            fail(f"An image does not exist locally with the tag: {rest[0]}")
        if registry not in data["logins"]:
            fail(f"denied: not logged in to {registry}")
        # content-addressed: the same bento gives the same digest
        digest = "sha256:" + hashlib.sha256(data["images"][rest[0]].encode()).hexdigest()
        data["registry"][rest[0]] = digest
        data["repo_digests"][rest[0]] = [f"{rest[0].rpartition(':')[0]}@{digest}"]
        data["pushed"].append(rest[0])
    elif command == "image" and rest[:1] == ["inspect"]:
        # `docker image inspect REF`: a JSON list; RepoDigests is set once the image was pushed
        print(
            json.dumps(
                [{"RepoTags": [rest[1]], "RepoDigests": data["repo_digests"].get(rest[1], [])}]
            )
        )
    elif command == "buildx" and rest[:2] == ["imagetools", "create"]:
        imagetools_create(data, rest[2:])
    else:
        fail(f"docker stand-in: docker {command} is not supported")
    save_docker_state(state, data)


def imagetools_create(data: dict, args: list[str]) -> None:
    """`docker buildx imagetools create [--prefer-index=false] --tag NAME:TAG NAME@DIGEST`: a
    new tag for a manifest the registry already holds (nothing local is read)."""
    found, rest = options([a for a in args if a != "--prefer-index=false"], {"--tag", "-t"})
    tag, source = found.get("--tag") or found["-t"], rest[0]
    name, _, digest = source.partition("@")
    if not digest or tag.rpartition(":")[0] != name:
        fail(f"docker stand-in: imagetools create copies within one repository by digest: {args}")
    if name.split("/")[0] not in data["logins"]:
        fail(f"denied: not logged in to {name.split('/')[0]}")
    held = [
        ref for ref, d in data["registry"].items() if d == digest and ref.startswith(name + ":")
    ]
    if not held:
        fail(f"ERROR: {source}: not found")
    data["registry"][tag] = digest
    data["pushed"].append(tag)


def real_bentoml() -> str:
    return str(Path(os.environ["HARNESS_PYTHON"]).parent / "bentoml")


def bentoml(args: list[str]) -> None:
    if args[:1] != ["containerize"]:
        os.execv(real_bentoml(), [real_bentoml(), *args])
    found, rest = options(args[1:], {"--image-tag", "-t"})
    tag = rest[0]
    if subprocess.run([real_bentoml(), "get", tag], capture_output=True).returncode != 0:
        fail(f"bentoml containerize: no bento {tag} in the store")
    state = Path(os.environ["HARNESS_STATE"])
    data = docker_state(state)
    data["calls"].append(["containerize", *args[1:]])
    data["images"][found.get("--image-tag") or found["-t"]] = tag
    save_docker_state(state, data)


if __name__ == "__main__":
    {"gh": gh, "docker": docker, "bentoml": bentoml}[sys.argv[1]](sys.argv[2:])
