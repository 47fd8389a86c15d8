"""Origin-response trigger (Python): adds security headers to the origin's answer."""

from security import HEADERS


def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    for name, value in HEADERS.items():
        response["headers"][name.lower()] = [{"key": name, "value": value}]
    return response
