def handler(event, context):
    return "lambda"
