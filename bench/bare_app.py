"""The yardstick for HTTP overhead: the least a FastAPI endpoint can do, a constant JSON body.

Served by uvicorn with the same options as `email-security serve`.
"""

from fastapi import FastAPI

app = FastAPI()

BODY = {"success": True, "errors": [], "messages": [], "result": {"id": "constant"}}


@app.get("/bare")
def bare() -> dict[str, object]:
    return BODY
