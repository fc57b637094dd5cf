"""The local AWS emulator: moto's DynamoDB and SQS on loopback, with one change.

moto applies a TransactWriteItems item by item and rolls a cancelled one back by
restoring a snapshot of the whole table, without a lock. Under concurrent requests that
can undo other clients' committed writes, which DynamoDB never does. Serialising the
DynamoDB requests makes the emulator linearizable, as DynamoDB is, so concurrency tests
exercise our conditional writes rather than the emulator's races. SQS requests stay
concurrent (long polling must not block the table).

A second change keeps the emulator fast as the table grows: moto snapshots every table
a transaction touches (a deep copy of all of it) before applying it, so each
transaction costs time in proportion to the table. Here the snapshot is of the items
the transaction names, restored the same way when it is cancelled.

Usage: python emulator.py HOST PORT
"""

import copy
import os
import sys
import threading

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend, Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

dynamodb_lock = threading.Lock()


class _TablesByReference:
    """Stands in for the `copy` module inside moto's DynamoDB models: tables are not
    copied (the transaction below restores the items it touched), anything else is."""

    @staticmethod
    def deepcopy(value):
        return value if isinstance(value, Table) else copy.deepcopy(value)


dynamodb_models.copy = _TablesByReference
_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _key_of(backend, op_type, op):
    table = backend.get_table(op["TableName"])
    if op_type != "Put":
        return op["Key"]
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def transact_write_items(self, transact_items):
    """moto's transaction with a snapshot of the named items instead of whole tables."""
    before = []
    for item in transact_items:
        for op_type, op in item.items():
            try:
                key = _key_of(self, op_type, op)
                current = self.get_item(op["TableName"], key)
            except Exception:  # moto reports malformed operations itself
                continue
            attrs = current.to_json()["Attributes"] if current is not None else None
            before.append((op["TableName"], key, copy.deepcopy(attrs)))
    try:
        return _moto_transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, attrs in reversed(before):
            if attrs is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attrs)
        raise


DynamoDBBackend.transact_write_items = transact_write_items
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
