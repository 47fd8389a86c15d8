def main(event, context):
    return "tool"
