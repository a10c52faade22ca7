"""smoke-plugin: write smoke plugins in Python.

A plugin plans (seed records and scenarios, as data) and judges (a verdict on one exchange, where
a step asks for it); the smoke host does everything with side effects. Subclass `Plugin`, then
export it from the module you build::

    from smoke_plugin import Info, Plan, Plugin, Scenario, Step, export

    class Hello(Plugin):
        def info(self):
            return Info("hello", "0.1.0", "example")

        def plan(self, input):
            health = Step.get("/health").expect_status(200).expect_eq("/status", "ok")
            return Plan().scenario(Scenario.happy_path("hello.health", "GET /health").step(health))

    Guest = export(Hello)

and build it with ``smoke-plugin-build app -o hello.wasm``. Builders mirror the Rust SDK's, and
nothing here has a default that could make a step pass by accident: a step that accepts no status
is refused by the host, and `Plugin.check` fails unless a plugin overrides it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, TypeVar

from . import ids, log

__all__ = [
    "WIT_VERSION", "Plugin", "export", "Info", "ConfigKey", "Plan", "PlanInput", "PlanError", "Document",
    "HostInfo", "Scenario", "Seed", "Step", "Part", "Status", "Verdict", "CheckInput", "SentRequest",
    "Response", "CheckArgumentError", "literal", "ids", "log",
]

#: The WIT package version this SDK builds plugins for.
WIT_VERSION = "0.2.0"

T = TypeVar("T")


def literal(text: str) -> str:
    """Text sent exactly as written even where it contains ``{{``."""
    return text.replace("{{", "\\{{")


def _bytes(content: "str | bytes | bytearray | list[int]") -> bytes:
    """Bytes from bytes, a list of numbers 0 to 255, or a string (as UTF-8), as the other SDKs."""
    return content.encode() if isinstance(content, str) else bytes(content)


def _json_text(value: Any) -> str:
    """JSON text of a value: plain JSON data, or a dataclass (its fields)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=False, allow_nan=False)


class _ListAndBuilder(list):
    """A list field that is also the builder adding to it (see `_FieldAndBuilder`)."""

    _owner: Any = None
    _build: Optional[Callable[..., Any]] = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._build(self._owner, *args, **kwargs)

    # Copies hold the items only: the owner is bound again on the next read, so a step copied by
    # a builder never adds to the step it was copied from.
    def __copy__(self) -> "_ListAndBuilder":
        return _ListAndBuilder(self)

    def __deepcopy__(self, memo: dict) -> "_ListAndBuilder":
        return _ListAndBuilder(copy.deepcopy(list(self), memo))

    def __reduce__(self) -> tuple:
        return (list, (list(self),))


class _FieldAndBuilder:
    """A dataclass list field that is also a builder of the same name: ``step.query`` holds a step's
    query parameters, and ``step.query("page", "2")`` is the step with one more.

    The other SDKs name these builders after the data they fill (plugins/vocabulary.txt keeps the
    three SDKs to one set of names), and the WIT conversion reads the data under that name, so one
    attribute serves both. Installed after @dataclass has made the field, as a data descriptor: it
    sees every assignment (``__init__``'s included) and every read.
    """

    def __init__(self, name: str, build: Callable[..., Any]):
        self.name, self.build = name, build

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:
            return self.build
        value = obj.__dict__[self.name]
        if not isinstance(value, _ListAndBuilder):  # restored by pickle, as the plain list it pickles as
            value = obj.__dict__[self.name] = _ListAndBuilder(value)
        value._owner, value._build = obj, self.build
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = _ListAndBuilder(value)


class _ConstructorAndField:
    """A static constructor on the class and a field on an instance: ``Step.tool_call(tool, args)``
    makes a step, and ``step.tool_call`` is the call it makes, which the WIT conversion reads."""

    def __init__(self, name: str, constructor: Callable[..., Any]):
        self.name, self.constructor = name, constructor

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        return self.constructor if obj is None else obj.__dict__[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value


# ---------------------------------------------------------------------------------------------
# What a plugin is


@dataclass
class ConfigKey:
    name: str
    description: str
    kind: str  # "text", "document" or "secret"
    required: bool = False
    default: Optional[str] = None


@dataclass
class Info:
    """Static facts about a plugin: ``Info("ledger", "0.1.0", "finance")``."""

    name: str
    version: str
    domain: str
    description: str = ""
    config: list[ConfigKey] = field(default_factory=list)
    sensitive_fields: list[str] = field(default_factory=list)
    sensitive_headers: list[str] = field(default_factory=list)
    # The interpreter comes with the component: its heap starts at about 13 MiB and grows with
    # what a plugin builds, so Python plugins declare more memory than the host's default of
    # 64 MiB (docs/plugin-guide.md gives the figures). The host caps what is declared.
    memory_mib: Optional[int] = 128
    call_timeout_ms: Optional[int] = None

    def describe(self, description: str) -> "Info":
        self.description = description
        return self

    def config_key(self, name: str, kind: str, required: bool = False, default: Optional[str] = None,
                   description: str = "") -> "Info":
        """Declare a config key: ``kind`` is "text", "document" (a path or URL the host reads) or
        "secret" (redacted everywhere)."""
        if kind not in ("text", "document", "secret"):
            raise ValueError(f"config kind {kind!r}: use 'text', 'document' or 'secret'")
        self.config.append(ConfigKey(name, description, kind, required, default))
        return self

    def sensitive_field(self, name: str) -> "Info":
        self.sensitive_fields.append(name)
        return self

    def sensitive_header(self, name: str) -> "Info":
        self.sensitive_headers.append(name)
        return self

    def needs_memory_mib(self, mib: int) -> "Info":
        """Declare the memory one call needs, in MiB, when this SDK's 128 is too little. The host
        caps it."""
        self.memory_mib = mib
        return self

    def needs_call_timeout_ms(self, ms: int) -> "Info":
        """Declare the time one call needs, in milliseconds, when the host's default (5 s) is too
        little. The host caps it."""
        self.call_timeout_ms = ms
        return self

    def needs(self, memory_mib: Optional[int] = None, call_timeout_ms: Optional[int] = None) -> "Info":
        """Deprecated alias of `needs_memory_mib` and `needs_call_timeout_ms`, the names the other
        SDKs use (plugins/vocabulary.txt); kept so plugins written with it still build."""
        if memory_mib is not None:
            self.memory_mib = memory_mib
        if call_timeout_ms is not None:
            self.call_timeout_ms = call_timeout_ms
        return self


# ---------------------------------------------------------------------------------------------
# Plans


@dataclass(frozen=True)
class Status:
    """A status (``Status.code(404)``) or a class of them (``Status.class_(5)``: every 5xx)."""

    kind: str  # "code" or "class"
    value: int

    @staticmethod
    def code(value: int) -> "Status":
        return Status("code", value)

    @staticmethod
    def class_(value: int) -> "Status":
        return Status("class", value)


@dataclass
class Part:
    """One part of a multipart body: ``Part.text(name, value)`` or ``Part.file(...)``."""

    name: str
    content: str | bytes
    filename: Optional[str] = None
    content_type: Optional[str] = None

    @staticmethod
    def text(name: str, value: str) -> "Part":
        return Part(name, value)

    @staticmethod
    def file(name: str, filename: str, content_type: str, content: bytes) -> "Part":
        return Part(name, _bytes(content), filename, content_type)


@dataclass
class Step:
    """One HTTP request with what its response must satisfy: ``Step.get("/x").expect_status(200)``.

    Every builder returns a new step and leaves the one it was called on as it was, as the Rust
    SDK's builders consume theirs: a step kept as a base and extended twice cannot collect both
    extensions' statuses.
    """

    method: str
    path: str
    name: str = ""
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    # ("json", text) | ("text", text) | ("form", [(name, value)]) | ("multipart", [Part])
    # | ("bytes", (content_type, data))
    body: Optional[tuple[str, Any]] = None
    status: list[Status] = field(default_factory=list)
    assertions: list[tuple[str, str, Any]] = field(default_factory=list)  # (pointer, test, value)
    expect_headers: list[tuple[str, str]] = field(default_factory=list)
    schema: Optional[str] = None
    max_latency: Optional[int] = None
    check_argument: Optional[str] = None
    captures: list[tuple[str, str, str]] = field(default_factory=list)  # (name, "body"|"header", where)
    mode: tuple = ("once",)
    timeout: Optional[int] = None
    # For a tool call: (tool, arguments as JSON text, outcome "success" | "tool-error" | "refused"
    # | "answered").
    tool_call: Optional[tuple[str, str, str]] = None
    # For another MCP request: (method, params as JSON text, outcome "success" | "refused").
    request_call: Optional[tuple[str, str, str]] = None

    @staticmethod
    def mcp_request(method: str, params: Any = None) -> "Step":
        """MCP request ``method`` (``resources/list``, ``resources/read``, ``prompts/list``,
        ``prompts/get``, ``resources/templates/list``, ``completion/complete``, ``ping``) with
        ``params`` (a dict) to the run's MCP server. By default it must get a result, whose JSON the
        assertions read; see ``expect_refused``."""
        return Step("", "", request_call=(method, _json_text({} if params is None else params), "success"))

    @staticmethod
    def call_tool(tool: str, arguments: Any = None) -> "Step":
        """Deprecated alias of `Step.tool_call`, the name the other SDKs use
        (plugins/vocabulary.txt); kept so plugins written with it still build."""
        return Step.tool_call(tool, arguments)

    def _outcome(self, outcome: str) -> "Step":
        if self.request_call is not None and outcome == "refused":
            self = self._copy()
            method, params, _ = self.request_call
            self.request_call = (method, params, outcome)
            return self
        if self.tool_call is None:
            raise ValueError(f"step {self.name or self.path}: a tool outcome is for tool calls")
        self = self._copy()
        tool, arguments, _ = self.tool_call
        self.tool_call = (tool, arguments, outcome)
        return self

    def expect_tool_error(self) -> "Step":
        """The tool must report an error (``isError: true``), as a broken business rule should."""
        return self._outcome("tool-error")

    def expect_answer(self) -> "Step":
        """For a call whose business outcome the plan cannot know: a JSON-RPC error fails it; a
        result with ``isError`` is reported as not tested (skipped, with the tool's message)."""
        return self._outcome("answered")

    def expect_refused(self) -> "Step":
        """The call must be refused (a JSON-RPC error or ``isError: true``): for calls meant to be
        wrong, which the host then sends unchecked."""
        return self._outcome("refused")

    def _copy(self) -> "Step":
        """Each builder starts with ``self = self._copy()``: it changes and returns a copy."""
        return copy.deepcopy(self)

    @staticmethod
    def get(path: str) -> "Step":
        return Step("GET", path)

    @staticmethod
    def post(path: str) -> "Step":
        return Step("POST", path)

    @staticmethod
    def put(path: str) -> "Step":
        return Step("PUT", path)

    @staticmethod
    def patch(path: str) -> "Step":
        return Step("PATCH", path)

    @staticmethod
    def delete(path: str) -> "Step":
        return Step("DELETE", path)

    @staticmethod
    def head(path: str) -> "Step":
        return Step("HEAD", path)

    @staticmethod
    def options(path: str) -> "Step":
        return Step("OPTIONS", path)

    @staticmethod
    def method_(token: str, path: str) -> "Step":
        """A method beyond the seven, by its token as sent (``PROPFIND``)."""
        return Step(token, path)

    def named(self, name: str) -> "Step":
        self = self._copy()
        self.name = name
        return self

    def json(self, body: Any) -> "Step":
        """A JSON body; a string that is exactly ``"{{var}}"`` takes the variable's JSON value."""
        self = self._copy()
        self.body = ("json", _json_text(body))
        return self

    def text(self, body: str) -> "Step":
        self = self._copy()
        self.body = ("text", body)
        return self

    def form(self, fields: list[tuple[str, str]] | dict[str, str]) -> "Step":
        self = self._copy()
        items = list(fields.items()) if isinstance(fields, dict) else list(fields)
        self.body = ("form", items)
        return self

    def multipart(self, parts: list[Part]) -> "Step":
        self = self._copy()
        self.body = ("multipart", list(parts))
        return self

    def bytes(self, content_type: str, content: bytes) -> "Step":
        self = self._copy()
        self.body = ("bytes", (content_type, _bytes(content)))
        return self

    def header(self, name: str, value: str) -> "Step":
        self = self._copy()
        self.headers.append((name, value))
        return self

    def bearer(self, token: str) -> "Step":
        self = self._copy()
        return self.header("authorization", f"Bearer {token}")

    def query_param(self, name: str, value: str) -> "Step":
        """Deprecated alias of `query`, the name the other SDKs use (plugins/vocabulary.txt); kept
        so plugins written with it still build."""
        return self.query(name, value)

    def expect_status(self, *statuses: int) -> "Step":
        """Accept these statuses (call again to accept more)."""
        self = self._copy()
        for s in statuses:
            if Status.code(s) not in self.status:
                self.status.append(Status.code(s))
        return self

    def expect_status_class(self, digit: int) -> "Step":
        """Accept every status of a class: ``expect_status_class(2)`` is any 2xx."""
        self = self._copy()
        if Status.class_(digit) not in self.status:
            self.status.append(Status.class_(digit))
        return self

    def expect_eq(self, pointer: str, value: Any) -> "Step":
        self = self._copy()
        self.assertions.append((pointer, "equals", _json_text(value)))
        return self

    def expect_exists(self, pointer: str) -> "Step":
        self = self._copy()
        self.assertions.append((pointer, "exists", None))
        return self

    def expect_absent(self, pointer: str) -> "Step":
        self = self._copy()
        self.assertions.append((pointer, "absent", None))
        return self

    def expect_len(self, pointer: str, length: int) -> "Step":
        self = self._copy()
        self.assertions.append((pointer, "length", int(length)))
        return self

    def expect_header(self, name: str, value: str = "") -> "Step":
        self = self._copy()
        self.expect_headers.append((name, value))
        return self

    def expect_schema(self, schema: Any) -> "Step":
        self = self._copy()
        self.schema = _json_text(schema)
        return self

    def max_latency_ms(self, limit: int) -> "Step":
        self = self._copy()
        self.max_latency = limit
        return self

    def timeout_ms(self, limit: int) -> "Step":
        self = self._copy()
        self.timeout = limit
        return self

    def check(self, argument: Any) -> "Step":
        """Ask the plugin's `check` to judge, with this argument: JSON data or a dataclass, read
        back in `check` with ``input.argument`` or ``input.argument_as(YourClass)``."""
        self = self._copy()
        self.check_argument = _json_text(argument)
        return self

    def capture(self, name: str, pointer: str) -> "Step":
        self = self._copy()
        self.captures.append((name, "body", pointer))
        return self

    def capture_header(self, name: str, header: str) -> "Step":
        self = self._copy()
        self.captures.append((name, "header", header))
        return self

    def poll(self, interval_ms: int, timeout_ms: int) -> "Step":
        self = self._copy()
        self.mode = ("poll", interval_ms, timeout_ms)
        return self

    def burst(self, count: int, concurrency: int) -> "Step":
        self = self._copy()
        self.mode = ("burst", count, concurrency, [])
        return self

    def mix(self, status: Status, at_least: Optional[int] = None, at_most: Optional[int] = None) -> "Step":
        self = self._copy()
        if self.mode[0] == "burst":
            self.mode[3].append((status, at_least, at_most))
        return self


KINDS = ("happy-path", "not-found", "validation-error", "business-rule", "auth", "workflow", "load")


@dataclass
class Scenario:
    id: str
    kind: str
    endpoint: str
    description: str = ""
    depends_on: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"scenario kind {self.kind!r}: one of {', '.join(KINDS)}")

    @staticmethod
    def happy_path(id: str, endpoint: str) -> "Scenario":
        return Scenario(id, "happy-path", endpoint)

    @staticmethod
    def not_found(id: str, endpoint: str) -> "Scenario":
        return Scenario(id, "not-found", endpoint)

    @staticmethod
    def validation_error(id: str, endpoint: str) -> "Scenario":
        return Scenario(id, "validation-error", endpoint)

    @staticmethod
    def business_rule(id: str, endpoint: str) -> "Scenario":
        return Scenario(id, "business-rule", endpoint)

    @staticmethod
    def auth(id: str, endpoint: str) -> "Scenario":
        return Scenario(id, "auth", endpoint)

    @staticmethod
    def workflow(id: str, endpoint: str) -> "Scenario":
        return Scenario(id, "workflow", endpoint)

    @staticmethod
    def load(id: str, endpoint: str) -> "Scenario":
        return Scenario(id, "load", endpoint)

    def describe(self, description: str) -> "Scenario":
        self.description = description
        return self

    def depends(self, scenario_id: str) -> "Scenario":
        """Deprecated alias of `depends_on`, the name the other SDKs use (plugins/vocabulary.txt);
        kept so plugins written with it still build."""
        return self.depends_on(scenario_id)

    def tag(self, tag: str) -> "Scenario":
        self.tags.append(tag)
        return self

    def step(self, step: Step) -> "Scenario":
        self.steps.append(step)
        return self


@dataclass
class Seed:
    """A record created through the API before any scenario; its captures are global variables."""

    id: str
    step: Step
    description: str = ""
    depends_on: list[str] = field(default_factory=list)

    def describe(self, description: str) -> "Seed":
        self.description = description
        return self

    def depends(self, seed_id: str) -> "Seed":
        """Deprecated alias of `depends_on`, the name the other SDKs use (plugins/vocabulary.txt);
        kept so plugins written with it still build."""
        return self.depends_on(seed_id)


@dataclass
class Plan:
    seeds: list[Seed] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    surface: list[tuple[str, bool, bool]] = field(default_factory=list)

    def seed(self, seed: Seed) -> "Plan":
        self.seeds.append(seed)
        return self

    def scenario(self, scenario: Scenario) -> "Plan":
        self.scenarios.append(scenario)
        return self

    def endpoint(self, id: str, has_constrained_body: bool = False) -> "Plan":
        """Declare an endpoint of the covered surface (``METHOD /path/{param}``)."""
        self.surface.append((id, "{" in id, has_constrained_body))
        return self

    def upsert_endpoint(self, id: str, has_constrained_body: bool = False) -> "Plan":
        """An endpoint that creates what its path names: no not-found scenario is expected."""
        self.surface.append((id, False, has_constrained_body))
        return self


def _tool_call(tool: str, arguments: Any = None) -> Step:
    """A call of tool ``tool`` of the run's MCP server with ``arguments`` (a dict; strings that are
    exactly ``"{{var}}"`` take the variable's JSON value). By default it must succeed; see
    ``expect_tool_error`` and ``expect_refused``. Assertions and captures read the result's JSON
    (its structuredContent, or the JSON its one text content holds)."""
    return Step("", "", tool_call=(tool, _json_text({} if arguments is None else arguments), "success"))


def _query(step: Step, name: str, value: str) -> Step:
    """A query parameter; the value may hold ``{{var}}`` templates."""
    step = step._copy()
    step.query.append((name, value))
    return step


def _depends_on(scenario_or_seed: Any, id: str) -> Any:
    """Run after the scenario (for a seed: the seed) ``id``; skipped, with the reason, when it fails."""
    scenario_or_seed.depends_on.append(id)
    return scenario_or_seed


def _scenarios(plan: Plan, scenarios: Any) -> Plan:
    """Every scenario of an iterable, in its order."""
    plan.scenarios.extend(scenarios)
    return plan


Step.tool_call = _ConstructorAndField("tool_call", _tool_call)
Step.query = _FieldAndBuilder("query", _query)
Scenario.depends_on = _FieldAndBuilder("depends_on", _depends_on)
Seed.depends_on = _FieldAndBuilder("depends_on", _depends_on)
Plan.scenarios = _FieldAndBuilder("scenarios", _scenarios)


class PlanError(Exception):
    """Raise from `plan` to refuse planning: ``raise PlanError("no spec", at="config key spec")``."""

    def __init__(self, message: str, at: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.location = at


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass
class HostInfo:
    version: str
    contract: str
    features: list[str]


@dataclass
class Document:
    key: str
    source: str
    content: bytes


@dataclass
class PlanInput:
    host: HostInfo
    config: dict[str, str] = field(default_factory=dict)
    documents: list[Document] = field(default_factory=list)

    def document(self, key: str) -> Optional[Document]:
        return next((d for d in self.documents if d.key == key), None)

    def host_supports(self, feature: str) -> bool:
        return feature in self.host.features


@dataclass
class SentRequest:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    latency_ms: int

    def header(self, name: str) -> Optional[str]:
        """Deprecated: `CheckInput.header`, the name the other SDKs use (plugins/vocabulary.txt),
        reads the same header; kept so plugins written with it still run."""
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON. Deprecated: `CheckInput.response_json`,
        the name the other SDKs use (plugins/vocabulary.txt), reads the same; kept so plugins
        written with it still run."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class ToolExchange:
    """A tool call as sent and what came back: the JSON-RPC result, or its error."""
    tool: str
    arguments: Any
    result: Any
    error: Optional[dict]
    latency_ms: int


class CheckArgumentError(Exception):
    """The check argument does not fit the type `check` asked for: a fault of the plugin (its plan
    and its check disagree), reported as one, not as a verdict on the service."""


@dataclass
class CheckInput:
    config: dict[str, str]
    scenario_id: str
    step_name: str
    step_index: int
    argument_text: str
    request: Optional[SentRequest]
    response: Optional[Response]
    # Every variable visible to the step, as JSON data: the captures of earlier steps, of the
    # scenarios it depends on and of the seeds, ``config.KEY`` and ``smoke.run``. The argument's
    # own ``{{name}}`` templates are already resolved from these when ``check`` sees it.
    variables: dict[str, Any]
    tool_call: Optional["ToolExchange"] = None
    # An MCP request: its method in ``tool``, its params in ``arguments``.
    mcp_request: Optional["ToolExchange"] = None

    def variable(self, name: str) -> Any:
        """A variable visible to the step (``variables`` holds them all), as JSON data; None when
        there is none of that name."""
        return self.variables.get(name)

    def header(self, name: str) -> Optional[str]:
        """A response header by its name in any case; None when the exchange was not HTTP or the
        response has no such header."""
        return self.response.header(name) if self.response is not None else None

    def response_json(self) -> Any:
        """The response body as JSON; None when it is not JSON or the exchange was not HTTP."""
        return self.response.json() if self.response is not None else None

    def rule(self) -> tuple[str, Any]:
        """The argument as ``{"rule": NAME, ...}``: the rule's name and the whole argument. Raises
        CheckArgumentError when it names no rule: the plan and `check` disagree."""
        argument = self.argument
        rule = argument.get("rule") if isinstance(argument, dict) else None
        if not isinstance(rule, str):
            raise CheckArgumentError(f"check argument names no rule: {self.argument_text}")
        return rule, argument

    def result_json(self) -> Any:
        """A tool call's result JSON: its structuredContent, or the JSON its one text content
        holds; None when there is none."""
        result = self.tool_call.result if self.tool_call else None
        if not isinstance(result, dict):
            return None
        if "structuredContent" in result:
            return result["structuredContent"]
        texts = [c.get("text") for c in result.get("content") or [] if c.get("type") == "text"]
        if len(texts) != 1:
            return None
        try:
            return json.loads(texts[0])
        except (TypeError, ValueError):
            return None

    @property
    def argument(self) -> Any:
        """The step's check argument as JSON data."""
        return json.loads(self.argument_text)

    def argument_as(self, cls: Callable[..., T]) -> T:
        """The argument read into a class (a dataclass): its fields from the argument's keys.
        Keys the class does not have are ignored, as the Rust SDK's serde ignores them."""
        value = self.argument
        if not isinstance(value, dict):
            raise CheckArgumentError(f"check argument {self.argument_text} is not an object for {cls!r}")
        if dataclasses.is_dataclass(cls):
            names = {f.name for f in dataclasses.fields(cls)}
            value = {k: v for k, v in value.items() if k in names}
        try:
            return cls(**value)
        except TypeError as e:
            raise CheckArgumentError(f"check argument {self.argument_text} does not fit {cls!r}: {e}") from e


@dataclass
class Verdict:
    passed: bool
    reason: str

    @staticmethod
    def pass_(reason: str) -> "Verdict":
        return Verdict(True, reason)

    @staticmethod
    def fail(reason: str) -> "Verdict":
        return Verdict(False, reason)


# ---------------------------------------------------------------------------------------------
# Plugins


class Plugin:
    """Subclass and implement `info` and `plan`; implement `check` when a step asks for it."""

    def info(self) -> Info:
        raise NotImplementedError("a plugin implements info()")

    def plan(self, input: PlanInput) -> Plan:
        raise NotImplementedError("a plugin implements plan(input)")

    def check(self, input: CheckInput) -> Verdict:
        # Fails, so a plan asking for judgement from a plugin that gives none never passes.
        return Verdict.fail(
            f"plugin does not implement check (asked to judge {input.argument_text} in scenario {input.scenario_id})"
        )


def export(plugin: type[Plugin]) -> type:
    """The class componentize-py exports as the plugin (assign it to ``Guest`` in your module).

    Natively (a plugin's own tests) there are no WIT bindings to export through, and the plugin
    class is returned as it is.
    """
    try:
        from ._wit import guest_class
    except ModuleNotFoundError as e:
        if e.name not in ("wit_world", "componentize_py_types"):
            raise
        return plugin
    return guest_class(plugin)
