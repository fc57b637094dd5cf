"""The local AWS emulator: moto's DynamoDB and SQS on loopback, with one change.

moto applies a TransactWriteItems item by item and rolls a cancelled one back by
restoring a snapshot of the whole table, without a lock. Under concurrent requests that
can undo other clients' committed writes, which DynamoDB never does. Serialising the
DynamoDB requests makes the emulator linearizable, as DynamoDB is, so concurrency tests
exercise our conditional writes rather than the emulator's races. SQS requests stay
concurrent (long polling must not block the table).

moto's SQS is not thread-safe either: a DeleteMessage rebuilds the queue's message list
and can drop a message sent meanwhile (lost) or bring back one deleted meanwhile, and two
ReceiveMessage calls that both move a message to its DLQ answer 500 (`list.remove(x): x
not in list`). SQS requests are serialised too, on a lock of their own, which a long poll
releases while it waits (each queue's condition variable is built on that lock).

More changes keep the emulator fast as the table grows, as DynamoDB is:
- moto snapshots every table a transaction touches (a deep copy of all of it) before
  applying it. Here the snapshot is of the items the transaction names, restored the
  same way when the transaction is cancelled.
- moto answers a Query on the table's key by sorting every item of the table and keeping
  one partition. Here it reads only that partition. (Index queries are unchanged.) Nor
  does it copy the items it found when nothing will be projected out of them: the answer
  is written out while the lock is held, so nothing changes them meanwhile.
- moto writes every answer through a generic serializer that walks the API's model
  attribute by attribute: about a millisecond per item read, nine tenths of a Query's
  time. Answers that carry items (Query, Scan, GetItem, BatchGetItem, and the stream's
  GetRecords) are already in DynamoDB's JSON form, so they are written out as JSON
  directly, without the spaces a reader ignores. And strings, the common case, are
  compared, sized and converted without moto's general (and slower) path for every type.
- moto searches every answer with a regular expression for an XML `<RequestId>` to
  rewrite; a JSON answer has none, so it is not searched (on a year of month rows, 2.7
  MB of JSON, a tenth of a Query's time).

And three to its DynamoDB stream, which the rollup consumer reads:
- A cancelled transaction leaves no stream records, as in DynamoDB (moto kept the records
  of the writes it rolled back, and of the roll-back itself).
- The stream keeps its newest records only (`STREAM_RECORDS_KEPT`), as DynamoDB keeps 24
  hours, so a long session does not grow without bound; sequence numbers keep rising.
- A record's size is not computed by serialising it a second time on every write.

Usage: python emulator.py HOST PORT
"""

import copy
import json
import os
import sys
import threading

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend, Table
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamRecord, StreamShard
from moto.dynamodb.models.utilities import DynamoJsonEncoder, dynamo_to_dict
from moto.dynamodb.responses import DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.core.responses import ActionResult, BaseResponse
from moto.sqs.models import Queue
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

dynamodb_lock = threading.Lock()
# Re-entrant: a ReceiveMessage holds it and then enters its queue's condition.
sqs_lock = threading.RLock()
_moto_queue_init = Queue.__init__


def _queue_init(self, *args, **kwargs):
    _moto_queue_init(self, *args, **kwargs)
    # A long poll waits on this condition, which releases `sqs_lock` while it waits.
    self._messages_lock = threading.Condition(sqs_lock)


Queue.__init__ = _queue_init


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


def _shards(backend, transact_items):
    """The stream shards of the tables a transaction names, with their next sequence
    numbers now."""
    shards = {}
    for item in transact_items:
        for op in item.values():
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is not None and table.stream_shard is not None:
                shards[id(table.stream_shard)] = (table.stream_shard, _next_sequence(table.stream_shard))
    return list(shards.values())


def transact_write_items(self, transact_items):
    """moto's transaction with a snapshot of the named items instead of whole tables."""
    streams = _shards(self, transact_items)
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
        for shard, next_sequence in streams:
            # Counted by sequence number, not position: a trim may have shifted the records.
            added = min(_next_sequence(shard) - next_sequence, len(shard.items))
            del shard.items[len(shard.items) - added :]
        raise


DynamoDBBackend.transact_write_items = transact_write_items

_moto_query = Table.query
_moto_all_items = Table.all_items


def _all_items(self):
    wanted = getattr(self, "_index_hash", None)
    if wanted is not None:
        # An index Query: only the items whose index hash key attributes hold the asked
        # values (moto would compare every item of the table, in its slower way).
        items = (
            (item for partition in self.items.values() for item in partition.values())
            if self.range_key_attr
            else iter(self.items.values())
        )
        for name, want in wanted:
            items = [
                item
                for item in items
                if (value := item.attrs.get(name)) is not None and value.value == want.value and value.type == want.type
            ]
        return list(items)
    only = getattr(self, "_only_partition", None)
    if only is None:
        return _moto_all_items(self)
    if only not in self.items:  # `items` is a defaultdict: do not create the partition
        return []
    partition = self.items[only]
    return list(partition.values()) if self.range_key_attr else [partition]


def _query(self, hash_key, *args, **kwargs):
    """A base-table Query reads its own partition; an index Query the items holding its
    hash key values. Each answers as moto does, from fewer items: with tens of thousands
    of items, an index Query took a second instead of milliseconds."""
    index_name = kwargs.get("index_name") or (args[6] if len(args) > 6 else None)
    if index_name:
        conditions = kwargs.get("hash_key_conditions")
        if not conditions:
            return _moto_query(self, hash_key, *args, **kwargs)
        self._index_hash = list(conditions)
        try:
            return _moto_query(self, hash_key, *args, **kwargs)
        finally:
            self._index_hash = None
    if hash_key is None:
        return _moto_query(self, hash_key, *args, **kwargs)
    projection = args[5] if len(args) > 5 else kwargs.get("projection_expressions")
    self._only_partition = hash_key
    _Copies.skip = not projection
    try:
        return _moto_query(self, hash_key, *args, **kwargs)
    finally:
        self._only_partition = None
        _Copies.skip = False


class _Copies:
    """Stands in for the `copy` module inside moto's table model: during a base-table
    Query with no projection (`skip`), the items found are answered as they are."""

    skip = False
    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value):
        return value if _Copies.skip else copy.deepcopy(value)


dynamodb_models.table.copy = _Copies


Table.all_items = _all_items
Table.query = _query

_ITEM_ANSWERS = ("Items", "Item", "Responses")
_moto_execute_result = DynamoResult.execute_result


def _as_json(result):
    """An answer as DynamoDB's JSON protocol sends it, written directly."""
    body = json.dumps(result, cls=DynamoJsonEncoder, separators=(",", ":"))
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


_moto_enrich_response = BaseResponse._enrich_response


def _enrich_response(headers, body):
    if isinstance(body, str) and body.startswith("{"):
        enriched, _ = _moto_enrich_response(headers, "")
        return enriched, body
    return _moto_enrich_response(headers, body)


BaseResponse._enrich_response = staticmethod(_enrich_response)


def _execute_result(self, context):
    result = self.result
    if isinstance(result, dict) and any(key in result for key in _ITEM_ANSWERS):
        return _as_json(result)
    return _moto_execute_result(self, context)


DynamoResult.execute_result = _execute_result
_moto_dynamo_result_init = DynamoResult.__init__
_moto_lt = DynamoType.__lt__
_moto_size = DynamoType.size


def _plain(value):
    """An item's attribute as DynamoDB JSON: scalars directly, anything else as moto does."""
    if value.type in ("S", "N", "BOOL", "NULL"):
        return {value.type: value.value}
    return dynamo_to_dict(value)


def _dynamo_result_init(self, result):
    items = result.get("Items") if isinstance(result, dict) else None
    if not isinstance(items, list):
        return _moto_dynamo_result_init(self, result)
    _moto_dynamo_result_init(self, {k: v for k, v in result.items() if k != "Items"})
    self.result["Items"] = [{k: _plain(v) for k, v in attrs.items()} for attrs in items]


def _lt(self, other):
    if self.type == "S" and other.type == "S":
        return self.value < other.value
    return _moto_lt(self, other)


def _bytes(text):
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _size(self):
    if self.type == "S":
        return _bytes(self.value)
    if self.type == "N":
        return len(str(self.value))
    return _moto_size(self)


def _item_size(self):
    return sum(_bytes(key) + _size(value) for key, value in self.attrs.items())


DynamoResult.__init__ = _dynamo_result_init
DynamoType.__lt__ = _lt
DynamoType.size = _size
Item.size = _item_size


class _RecordsResult(ActionResult):
    def execute_result(self, context):
        return _as_json(self.result)


_moto_get_records = DynamoDBStreamsHandler.get_records


def _get_records(self):
    return _RecordsResult(_moto_get_records(self).result)


DynamoDBStreamsHandler.get_records = _get_records

STREAM_RECORDS_KEPT = int(os.environ.get("LEADFLOW_STREAM_RECORDS_KEPT", "100000"))
# table.py serialises a whole stream record again only to fill its SizeBytes (its one
# use of the function): 1 here.
dynamodb_models.table.dynamo_json_dump = lambda _: "."


def _next_sequence(shard):
    """The sequence number the shard's next record gets."""
    return shard.starting_sequence_number + getattr(shard, "trimmed", 0) + len(shard.items)


def _stream_add(self, old, new):
    """moto's record append, with numbers that keep rising past trimmed records (and no
    delivery to moto's own Lambda, which is not used)."""
    view = self.table.stream_specification["StreamViewType"]
    event_name = "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY")
    self.items.append(StreamRecord(self.table, view, event_name, old, new, _next_sequence(self)))
    if len(self.items) > STREAM_RECORDS_KEPT:
        drop = len(self.items) - STREAM_RECORDS_KEPT // 2
        del self.items[:drop]
        self.trimmed = getattr(self, "trimmed", 0) + drop


def _stream_get(self, start, quantity):
    """Records from sequence number `start`; one trimmed away reads from the oldest kept
    (DynamoDB's TRIM_HORIZON after 24 hours)."""
    first = max(start - self.starting_sequence_number - getattr(self, "trimmed", 0), 0)
    return [record.to_json() for record in self.items[first : first + quantity]]


StreamShard.add = _stream_add
StreamShard.get = _stream_get
moto_app = DomainDispatcherApplication(create_backend_app)


def app(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
        with dynamodb_lock:
            # Materialise the body inside the lock: the write happens while it is built.
            return list(moto_app(environ, start_response))
    with sqs_lock:
        return list(moto_app(environ, start_response))


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
