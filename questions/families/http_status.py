"""HTTP status codes: a scenario, "which status code should the server respond with?".

The answer is looked up in a table of scenario -> HTTPStatus, and every option is rendered from
http.HTTPStatus ("409 Conflict"), so no reason phrase is ever typed by hand. Distractors are the codes
most often confused with the right one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from http import HTTPStatus

from questions.families._common import pick_distractors
from questions.families.base import ItemFamily

RESOURCES = (
    ("order", "/orders"),
    ("invoice", "/invoices"),
    ("article", "/articles"),
    ("customer record", "/customers"),
    ("support ticket", "/tickets"),
    ("project", "/projects"),
    ("playlist", "/playlists"),
    ("booking", "/bookings"),
    ("product listing", "/products"),
    ("user profile", "/users"),
)
APIS = ("a REST API", "a JSON API", "an internal HTTP service", "a public web API", "a mobile backend")


def status_text(code: int) -> str:
    status = HTTPStatus(code)
    return f"{status.value} {status.phrase}"


@dataclass(frozen=True)
class Scenario:
    status: int
    confusable: tuple[int, int, int]
    templates: tuple[str, ...]
    why: str


COMMON: tuple[Scenario, ...] = (
    Scenario(
        201,
        (200, 202, 204),
        (
            "A client sends POST {path} to {api}, and the server stores a new {thing} and returns its URL in "
            "the Location header.",
            "In {api}, POST {path} succeeds and a brand-new "
            "{thing} now exists on the server, whose address is "
            "sent back in a Location header.",
        ),
        "201 signals that the request succeeded and a new resource was created (its URI goes in Location).",
    ),
    Scenario(
        204,
        (200, 202, 404),
        (
            "A client sends DELETE {path}/42 to {api}. The {thing} is deleted and the server has nothing to "
            "put in the response body.",
            "In {api}, PUT {path}/7 updates an existing {thing} "
            "successfully and the server deliberately sends "
            "back an empty body.",
        ),
        "204 means the request succeeded and there is intentionally no content in the response body.",
    ),
    Scenario(
        400,
        (422, 415, 500),
        (
            "A client sends POST {path} to {api} with a body that is not even syntactically valid JSON "
            "(a closing brace is missing), so it cannot be parsed.",
            "{api_cap} receives a request for a {thing} whose JSON body is malformed and cannot be parsed at all.",
        ),
        "400 covers requests the server cannot parse or understand, such as malformed syntax.",
    ),
    Scenario(
        401,
        (403, 400, 407),
        (
            "A client calls GET {path} on {api} without sending any credentials (no Authorization header), "
            "and the endpoint requires a logged-in user.",
            "A request to {api} for a {thing} carries a bearer token that has expired, so the caller is not "
            "authenticated.",
        ),
        "401 means the request lacks valid authentication credentials; the response carries WWW-Authenticate.",
    ),
    Scenario(
        403,
        (401, 404, 405),
        (
            "A user who is properly logged in to {api} tries to delete a {thing} belonging to another team, "
            "and their role does not permit it.",
            "An authenticated client with a valid token calls {api}, but its account lacks the permission "
            "needed to read this {thing}.",
        ),
        "403 means the server knows who the client is, but that identity is not allowed to do this.",
    ),
    Scenario(
        404,
        (410, 400, 204),
        (
            "A client requests GET {path}/98765 from {api}, and no {thing} with that id has ever existed.",
            "{api_cap} is asked for a {thing} at {path}/unknown-id; there is no such resource on the server.",
        ),
        "404 means the server has no resource at the requested URI.",
    ),
    Scenario(
        405,
        (501, 403, 400),
        (
            "{api_cap} supports only GET and POST on {path}, but a client sends DELETE {path}.",
            "A client sends PATCH {path} to {api}; the {thing} collection exists but does not support that "
            "method (the server answers with an Allow: GET, POST header).",
        ),
        "405 means the resource exists but does not support the request method; the Allow header lists the valid ones.",
    ),
    Scenario(
        429,
        (503, 403, 408),
        (
            "A client has sent far more requests for {thing} data to {api} in the last minute than its quota "
            "permits, and the server wants it to back off.",
            "{api_cap} enforces a rate limit of 100 requests per minute per API key; one key just made its "
            "101st request this minute.",
        ),
        "429 means the client sent too many requests in a given time (rate limiting), often with Retry-After.",
    ),
    Scenario(
        503,
        (500, 502, 429),
        (
            "{api_cap} is down for planned maintenance for the next ten minutes and every request for a "
            "{thing} should be retried later.",
            "The server behind {api} is temporarily overloaded and cannot handle the request for a {thing} "
            "right now; it sends a Retry-After header.",
        ),
        "503 means the server is temporarily unable to handle requests (maintenance or overload).",
    ),
)

ADVANCED: tuple[Scenario, ...] = (
    Scenario(
        202,
        (201, 200, 204),
        (
            "A client asks {api} to export every {thing} to a CSV file. The export is queued as a background "
            "job that will finish later; nothing has been produced yet.",
            "POST {path}/bulk-import on {api} only enqueues the "
            "work for asynchronous processing and returns a "
            "job id to poll.",
        ),
        "202 means the request was accepted for processing, which has not completed yet.",
    ),
    Scenario(
        304,
        (200, 412, 204),
        (
            "A browser re-requests a {thing} from {api} with If-None-Match carrying the ETag it cached, and "
            "the {thing} has not changed since.",
            "A client sends a conditional GET {path}/12 with If-Modified-Since, and the {thing} was not "
            "modified after that date.",
        ),
        "304 tells a client that made a conditional GET that its cached copy is still valid; no body is sent.",
    ),
    Scenario(
        307,
        (302, 303, 308),
        (
            "{api_cap} temporarily moved the {thing} endpoint to another host. Clients sending POST {path} "
            "must repeat exactly the same POST, with its body, "
            "at the new URL; the old URL will be back soon.",
            "During a migration, {api} redirects requests for {path} to a temporary location and must "
            "guarantee that the client keeps the original method and body (a PUT stays a PUT).",
        ),
        "307 is a temporary redirect that forbids changing the method: a POST must be repeated as a POST.",
    ),
    Scenario(
        308,
        (301, 307, 302),
        (
            "{api_cap} has permanently moved {path} to a new versioned URL, and clients that POST a {thing} "
            "must resend the same POST (with its body) to the new URL from now on.",
        ),
        "308 is a permanent redirect that, unlike 301, guarantees the method and body are kept.",
    ),
    Scenario(
        303,
        (302, 307, 201),
        (
            "After a web form that creates a {thing} is submitted with POST, the server wants the browser "
            "to fetch a confirmation page with a GET request at a different URL.",
        ),
        "303 See Other redirects the client to another URI that must be retrieved with GET (post/redirect/get).",
    ),
    Scenario(
        409,
        (412, 400, 422),
        (
            "Two editors load {thing} version 5 from {api}. The first saves version 6; the second then sends "
            'PUT {path}/3 whose body still says "version": 5. The request conflicts with the current state.',
            "A client tries to create a {thing} via {api} using a unique slug that another {thing} already "
            "uses, which conflicts with the current state of the resource.",
        ),
        "409 means the request conflicts with the current state of the target resource, such as an edit conflict.",
    ),
    Scenario(
        412,
        (409, 428, 304),
        (
            "A client sends PUT {path}/3 to {api} with an If-Match header carrying an ETag, but the {thing} "
            "has since changed and its current ETag no longer matches.",
            "A conditional DELETE {path}/9 with If-Unmodified-Since reaches {api}, but the {thing} was "
            "modified after that date, so the precondition in the header does not hold.",
        ),
        "412 means a precondition given in the request headers (If-Match, If-Unmodified-Since) evaluated to false.",
    ),
    Scenario(
        428,
        (412, 400, 409),
        (
            "{api_cap} requires every update to a {thing} to be conditional, to prevent lost updates, but a "
            "client sends PUT {path}/3 without any If-Match header.",
        ),
        "428 means the server requires the request to be conditional (e.g. carry If-Match), and it is not.",
    ),
    Scenario(
        413,
        (400, 415, 507),
        (
            "A client uploads a 2 GB attachment for a {thing} to {api}, which accepts request bodies of at most 10 MB.",
            "The body of POST {path} is far larger than the limit {api} is willing to process.",
        ),
        "413 means the request body is larger than the server is willing or able to process.",
    ),
    Scenario(
        415,
        (406, 400, 422),
        (
            "{api_cap} accepts only application/json, but a client sends POST {path} with the header "
            "Content-Type: application/xml and an XML body.",
            "A client submits a {thing} to {api} as a form-encoded body (Content-Type: "
            "application/x-www-form-urlencoded), a media type this endpoint does not support.",
        ),
        "415 means the request body is in a media type (Content-Type) the endpoint does not support.",
    ),
    Scenario(
        406,
        (415, 400, 404),
        (
            "A client requests a {thing} from {api} with the header Accept: application/pdf, but the server "
            "can only produce JSON for that resource.",
        ),
        "406 means the server cannot produce a response in any format listed in the request's Accept header.",
    ),
    Scenario(
        422,
        (400, 409, 415),
        (
            "A client sends POST {path} to {api} with well-formed JSON of the right content type, but the "
            "quantity field of the {thing} is -3, which fails validation.",
            "{api_cap} parses the JSON body for a new {thing} "
            "without problems, but the email field fails the "
            "semantic validation rules.",
        ),
        "422 means the body is syntactically fine but semantically invalid (validation errors).",
    ),
    Scenario(
        410,
        (404, 204, 301),
        (
            "A {thing} at {path}/77 was deliberately and "
            "permanently removed from {api}, and the server knows "
            "it will never return; clients should drop their links to it.",
        ),
        "410 means the resource existed but is intentionally and permanently gone.",
    ),
    Scenario(
        502,
        (504, 503, 500),
        (
            "{api_cap} sits behind a reverse proxy. The proxy forwards a request for a {thing} upstream but "
            "receives a garbled, invalid response from the upstream server.",
        ),
        "502 means a gateway or proxy received an invalid response from the upstream server.",
    ),
    Scenario(
        504,
        (502, 408, 503),
        (
            "A gateway in front of {api} forwards a request for a {thing} to an upstream service, which does "
            "not answer before the gateway's timeout expires.",
        ),
        "504 means a gateway or proxy did not get a timely response from the upstream server.",
    ),
)

# One-line meanings used to explain why a distractor is wrong.
MEANINGS: dict[int, str] = {
    200: "a plain success that returns a representation in the body",
    201: "a new resource was created",
    202: "the work was queued and has not finished",
    204: "success with an intentionally empty body",
    301: "a permanent redirect after which clients may switch POST to GET",
    302: "a temporary redirect after which clients commonly switch POST to GET",
    303: "a redirect that must be followed with GET",
    304: "the client's cached copy is still valid",
    307: "a temporary redirect that keeps the method and body",
    308: "a permanent redirect that keeps the method and body",
    400: "the request is malformed and cannot be parsed",
    401: "valid authentication credentials are missing",
    403: "the authenticated client is not allowed to do this",
    404: "there is no resource at this URI",
    405: "the resource does not support this method",
    406: "no representation matches the Accept header",
    407: "the client must authenticate with a proxy",
    408: "the client took too long to send its request",
    409: "the request conflicts with the resource's current state",
    410: "the resource existed but is permanently gone",
    412: "a conditional request header such as If-Match evaluated to false",
    413: "the request body is too large",
    415: "the request body's Content-Type is not supported",
    422: "a well-formed body failed semantic validation",
    428: "the server requires a conditional request",
    429: "the client exceeded a rate limit",
    500: "an unexpected error inside the server",
    501: "the server does not implement the method at all",
    502: "a gateway got an invalid response from upstream",
    503: "the server is temporarily unavailable",
    504: "a gateway timed out waiting for upstream",
    507: "the server ran out of storage",
}

_ASKS = (
    "Which status code should the server return?",
    "Which HTTP status code fits best?",
    "What is the most appropriate HTTP response status?",
)


class _HttpStatusFamily(ItemFamily):
    scenarios: tuple[Scenario, ...] = ()

    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        scenario = rng.choice(self.scenarios)
        thing, path = rng.choice(RESOURCES)
        api = rng.choice(APIS)
        template = rng.choice(scenario.templates)
        text = template.format(thing=thing, path=path, api=api, api_cap=api[0].upper() + api[1:])
        stem = f"{text} {rng.choice(_ASKS)}"
        key = status_text(scenario.status)
        distractors = pick_distractors(key, (status_text(code) for code in scenario.confusable))
        contrasts = "; ".join(f"{code} would mean {MEANINGS[code]}" for code in scenario.confusable)
        explanation = f"The answer is {key}. {scenario.why} By contrast, {contrasts}."
        return stem, key, distractors, explanation


class HttpStatusCommonFamily(_HttpStatusFamily):
    name = "http_status_common"
    skill = "http"
    difficulty = 2
    tags = ("http", "status-codes")
    scenarios = COMMON


class HttpStatusAdvancedFamily(_HttpStatusFamily):
    name = "http_status_advanced"
    skill = "http"
    difficulty = 4
    tags = ("http", "status-codes", "caching", "redirects")
    scenarios = ADVANCED
