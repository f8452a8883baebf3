"""`adopt`: a user's table made into the project's data, contract, params and README."""
