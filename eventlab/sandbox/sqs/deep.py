"""Deep queues: moto's SQS without a walk of the whole queue per message.

A burst leaves hundreds of thousands of messages in a queue (Pattern 5: 10,000 a second
for a minute against consumers taking 1,000).  moto keeps a queue's messages in a list
and walks all of them on each ``ReceiveMessage`` (``Queue.messages`` builds the list of
all visible ones, of which the receive takes ten), twice on each ``DeleteMessage`` (and
rebuilds the list), and three times for the ``Approximate*`` counts, so a run costs the
square of its depth.  The same answers, found without the walk:

* ``Queue._messages`` is a :class:`MessageStore`: the same sequence, oldest first, that
  appends, removes and answers ``len`` in constant time, and keeps aside the messages
  that may be hidden (received and in flight, or delayed), so the ``Approximate*`` counts
  and the next moment a message becomes visible look only at those;
* ``Queue.messages`` is a lazy view: iterating it yields the visible, undelayed messages
  in order (a receive stops after ``count``); ``len()`` is the store's count;
* ``Queue.delete_message`` finds the message by the receipt handle its receive gave
  (an earlier handle of the same message still works, found in one pass);
* a receipt handle (185 random lowercase letters, as moto makes them) is drawn as 185
  random bytes mapped to letters, instead of 185 calls, and a received message is copied for the answer field by field
  instead of by ``deepcopy``; moto's instance tracker (a list of every model object, for
  its dashboard) no longer keeps every message ever sent.
"""

from __future__ import annotations

import copy
import functools
import math
import threading
from collections.abc import Iterable, Iterator
from typing import Any

COMPACT_AFTER = 1024   # removed entries kept in the list before it is rebuilt


def _now_ms() -> float:
    from moto.sqs import models

    return models.unix_time_millis()


class MessageStore:
    """A queue's messages, oldest first, as moto's list of them is used (iterate, append,
    remove, len, truth), with constant-time removal and the hidden ones kept aside."""

    def __init__(self, messages: Iterable[Any] = ()) -> None:
        self._items: list[Any] = []           # oldest first; removed ones stay until compaction
        self._pos: dict[int, int] = {}        # id(message) -> its index in _items (live ones)
        self._start = 0                       # entries before it are all removed
        self._hidden: dict[int, Any] = {}     # live messages that may be in flight or delayed
        self._receipts: dict[str, Any] = {}   # current receipt handle -> message
        self._skip: tuple[int, float] = (0, -math.inf)   # see visible()
        self._lock = threading.RLock()
        for message in messages:
            self.append(message)

    # -- the list moto sees --------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        items, pos = self._items, self._pos
        i = self._start
        while i < len(items):   # appends made meanwhile are seen, as with a list
            message = items[i]
            at = pos.get(id(message))
            if at == i or (at is not None and items is not self._items):
                yield message
            i += 1

    def __len__(self) -> int:
        return len(self._pos)

    def __bool__(self) -> bool:
        return bool(self._pos)

    def __contains__(self, message: Any) -> bool:
        return id(message) in self._pos

    def __getitem__(self, index: Any) -> Any:
        return list(self)[index]

    def __repr__(self) -> str:
        return f"MessageStore({len(self)} messages, {len(self._hidden)} possibly hidden)"

    def append(self, message: Any) -> None:
        with self._lock:
            if id(message) in self._pos:   # the same object twice: keep one entry
                return
            self._pos[id(message)] = len(self._items)
            self._items.append(message)
            now_ms = _now_ms()
            if now_ms < message.delayed_until or not now_ms > message.visible_at:
                self.touch(message)   # sent with a delay, or moved here while in flight

    def extend(self, messages: Iterable[Any]) -> None:
        for message in messages:
            self.append(message)

    def remove(self, message: Any) -> None:
        with self._lock:
            at = self._pos.pop(id(message), None)
            if at is None:
                raise ValueError("MessageStore.remove(x): x not in the queue")
            self._hidden.pop(id(message), None)
            for handle in (message.receipt_handle, *message._old_receipt_handles):
                if handle is not None:
                    self._receipts.pop(handle, None)
            items = self._items
            if at == self._start:
                start = at + 1
                while start < len(items) and self._pos.get(id(items[start])) != start:
                    start += 1
                self._start = start
            if len(items) - len(self._pos) > max(COMPACT_AFTER, len(self._pos)):
                self._compact()

    def clear(self) -> None:
        with self._lock:
            self._items, self._pos, self._hidden, self._receipts = [], {}, {}, {}
            self._start = 0
            self._skip = (0, -math.inf)

    def _compact(self) -> None:
        live = [m for i, m in enumerate(self._items) if self._pos.get(id(m)) == i]
        self._items = live
        self._pos = {id(m): i for i, m in enumerate(live)}
        self._start = 0
        self._skip = (0, -math.inf)

    # -- what the sandbox asks -------------------------------------------------------
    def touch(self, message: Any, *, sooner: bool = False) -> None:
        """``message`` was received, delayed or had its visibility changed: keep it aside
        while it may be hidden, and index its receipt handle.  ``sooner``: it may become
        visible sooner than it would have (a visibility timeout shortened)."""
        if sooner:
            self._skip = (0, -math.inf)
        if id(message) in self._pos:
            self._hidden[id(message)] = message
            if message.receipt_handle is not None:
                self._receipts[message.receipt_handle] = message

    def by_receipt(self, receipt_handle: str) -> Any:
        """The live message whose current receipt handle this is, or None."""
        message = self._receipts.get(receipt_handle)
        return message if message is not None and id(message) in self._pos else None

    def counts(self, now_ms: float) -> tuple[int, int, int]:
        """(visible, not visible, delayed) as moto counts them at ``now_ms``: visible is
        neither in flight nor delayed; a message visible again leaves the hidden set."""
        not_visible = delayed = hidden = 0
        with self._lock:
            for key, message in list(self._hidden.items()):
                is_delayed = now_ms < message.delayed_until
                is_hidden = not now_ms > message.visible_at
                if not (is_delayed or is_hidden):
                    del self._hidden[key]
                    continue
                delayed += is_delayed
                not_visible += is_hidden
                hidden += 1
            return len(self._pos) - hidden, not_visible, delayed

    def hidden(self) -> list[Any]:
        """The messages that may be in flight or delayed (a superset of those that are)."""
        with self._lock:
            return list(self._hidden.values())

    def visible(self, now_ms: float) -> Iterator[Any]:
        """The visible, undelayed messages in order (moto's ``Queue.messages``)."""
        items, pos, hidden = self._items, self._pos, self._hidden
        # The messages at the front are mostly in flight (received first): where the last
        # walk found them all still hidden, and until when, is remembered (``_skip``).
        skip_to, through = self._skip
        if now_ms <= through and skip_to > self._start:
            i, limit = skip_to, through
        else:
            i, limit = self._start, math.inf
        front = True   # every entry so far was removed or hidden
        while i < len(items):   # __iter__'s walk, with the hidden ones skipped in the same loop
            message = items[i]
            key = id(message)
            at = pos.get(key)
            i += 1
            if not (at == i - 1 or (at is not None and items is not self._items)):
                if front and items is self._items:
                    self._skip = (i, limit)
                continue
            if key in hidden and (now_ms <= message.visible_at or now_ms < message.delayed_until):
                if front and items is self._items:
                    limit = min(limit, max(message.visible_at, message.delayed_until - 0.001))
                    self._skip = (i, limit)
                continue
            front = False
            yield message


class VisibleMessages:
    """The visible, undelayed messages of a queue, computed as they are iterated."""

    __slots__ = ("_queue",)

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def __iter__(self) -> Iterator[Any]:
        messages = self._queue._messages
        if isinstance(messages, MessageStore):
            yield from messages.visible(_now_ms())
            return
        for message in messages:
            if message.visible and not message.delayed:
                yield message

    def __len__(self) -> int:
        messages = self._queue._messages
        if isinstance(messages, MessageStore):
            return messages.counts(_now_ms())[0]
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None


def visible_messages(queue: Any, now_ms: float) -> Iterator[Any]:
    """The queue's visible, undelayed messages at ``now_ms``, oldest first."""
    store = store_of(queue)
    if store is not None:
        return store.visible(now_ms)
    return (m for m in list(queue._messages) if now_ms > m.visible_at and now_ms >= m.delayed_until)


def hidden_messages(queue: Any) -> list[Any]:
    """The queue's messages that may be in flight or delayed (all of them without a store)."""
    store = store_of(queue)
    return store.hidden() if store is not None else list(queue._messages)


def store_of(queue: Any) -> MessageStore | None:
    messages = queue.__dict__.get("_messages")
    return messages if isinstance(messages, MessageStore) else None


class DeepQueuesService:
    name = "sqs-deep-queues"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self._touched = threading.local()   # messages a backend call received or re-timed

    def install(self, patches: Any) -> None:
        import string

        from moto.moto_api._internal import mock_random
        from moto.sqs import models
        from moto.sqs.exceptions import ReceiptHandleIsInvalid
        from moto.sqs.models import Message, Queue, SQSBackend

        letters = bytes(ord(string.ascii_lowercase[b % 26]) for b in range(256))   # byte -> a..z

        def receipt_handle() -> str:
            return mock_random.randbytes(185).translate(letters).decode("ascii")

        patches.replace(models, "generate_receipt_handle", receipt_handle,
                        "receipt handles drawn in one call (a receive makes one per message)")

        def get_messages(queue: Any) -> Any:
            return queue.__dict__["_messages"]

        def set_messages(queue: Any, value: Any) -> None:
            queue.__dict__["_messages"] = value if isinstance(value, MessageStore) else MessageStore(value)

        patches.replace(Queue, "_messages", property(get_messages, set_messages),
                        "a queue's messages in a store with constant-time removal and the hidden ones "
                        "kept aside (deep queues)")

        patches.replace(Queue, "messages", property(VisibleMessages),
                        "a receive takes the first visible messages without listing them all")

        def count(which: int) -> Any:
            original = vars(Queue)[("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
                                    "approximate_number_of_messages_delayed")[which]].fget

            def approximate(queue: Any) -> int:
                store = store_of(queue)
                return store.counts(_now_ms())[which] if store is not None else original(queue)
            return property(approximate)

        for which, name in enumerate(("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
                                      "approximate_number_of_messages_delayed")):
            patches.replace(Queue, name, count(which),
                            "the Approximate* counts look only at the messages that may be hidden")

        touched = self._touched

        def noting(method: str) -> Any:
            original = getattr(Message, method)

            def note(message: Any, *args: Any, **kwargs: Any) -> Any:
                result = original(message, *args, **kwargs)
                seen = getattr(touched, "messages", None)
                if seen is not None:
                    seen.append(message)
                return result
            return note

        for method in ("mark_received", "change_visibility"):
            patches.replace(Message, method, noting(method),
                            "the queue's store learns which messages a call hid")

        def make_touching(original: Any, sooner: bool) -> Any:
            def call(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
                outer = getattr(touched, "messages", None)
                touched.messages = []
                try:
                    return original(backend, queue_name, *args, **kwargs)
                finally:
                    seen, touched.messages = touched.messages, outer
                    store = store_of(backend.queues[queue_name]) if queue_name in backend.queues else None
                    if store is not None:
                        for message in seen:
                            store.touch(message, sooner=sooner)
                    if outer is not None:
                        outer.extend(seen)
            return call

        for method, sooner in (("receive_message", False), ("change_message_visibility", True)):
            patches.wrap(SQSBackend, method, functools.partial(make_touching, sooner=sooner),
                         "the queue's store learns which messages a call hid")

        def delete_message(queue: Any, receipt_handle: str) -> None:
            if receipt_handle in queue.deleted_messages:
                return   # already deleted: AWS accepts it again
            store = store_of(queue)
            found = store.by_receipt(receipt_handle) if store is not None else None
            if found is None:   # an earlier receipt handle of the message: one pass
                found = next((m for m in queue._messages if m.receipt_handle == receipt_handle
                              or receipt_handle in m._old_receipt_handles), None)
            if found is None:
                raise ReceiptHandleIsInvalid()
            queue._messages.remove(found)
            queue.pending_messages.discard(found)
            queue.deleted_messages.update(found.all_receipt_handles)

        patches.replace(Queue, "delete_message", delete_message,
                        "DeleteMessage finds its message by its receipt handle instead of rebuilding the queue")

        def copy_received(value: Any, memo: Any = None) -> Any:
            if type(value) is not Message:
                return copy.deepcopy(value, memo)
            # not Message(): moto's models keep every instance they make (for reset), and
            # the copy is only the answer's
            duplicate = object.__new__(Message)
            duplicate.__dict__.update(value.__dict__)
            for name in ("message_attributes", "system_attributes"):
                held = getattr(value, name)
                setattr(duplicate, name, copy.deepcopy(held) if held else {})
            duplicate._old_receipt_handles = list(value._old_receipt_handles)
            return duplicate

        from moto.sqs.exceptions import InvalidAttributeName

        def get_queue_attributes(backend: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
            # moto's answer, with the queue's attributes computed once instead of twice per name
            queue = backend.get_queue(queue_name)
            if not attribute_names:
                return {}
            valid = ["All"] + queue.BASE_ATTRIBUTES + queue.FIFO_ATTRIBUTES + queue.KMS_ATTRIBUTES
            invalid = next((name for name in attribute_names if name not in valid), None)
            if invalid or invalid == "":
                raise InvalidAttributeName(invalid)
            every = queue.attributes
            if "All" in attribute_names:
                return every
            return {name: every[name] for name in attribute_names if every.get(name) is not None}

        patches.replace(SQSBackend, "get_queue_attributes", get_queue_attributes,
                        "GetQueueAttributes computes the queue's attributes once, not twice per name asked")

        def new_message(cls: type, *args: Any, **kwargs: Any) -> Any:
            return object.__new__(cls)

        patches.replace(Message, "__new__", staticmethod(new_message),
                        "moto's instance tracker does not keep every SQS message ever sent (its "
                        "/moto-api/data.json lists no SQS messages)")

        patches.replace(models, "deepcopy", copy_received,
                        "a received message is copied for the answer field by field, not by deepcopy")
