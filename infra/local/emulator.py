"""The local AWS emulator: moto's DynamoDB and SQS on loopback, with one change.

moto applies a TransactWriteItems item by item and rolls a cancelled one back by
restoring a snapshot of the whole table, without a lock. Under concurrent requests that
can undo other clients' committed writes, which DynamoDB never does. Serialising the
DynamoDB requests makes the emulator linearizable, as DynamoDB is, so concurrency tests
exercise our conditional writes rather than the emulator's races. SQS requests stay
concurrent (long polling must not block the table).

Usage: python emulator.py HOST PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

dynamodb_lock = threading.Lock()
moto_app = DomainDispatcherApplication(create_backend_app)


def app(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
        with dynamodb_lock:
            # Materialise the body inside the lock: the write happens while it is built.
            return list(moto_app(environ, start_response))
    return moto_app(environ, start_response)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
