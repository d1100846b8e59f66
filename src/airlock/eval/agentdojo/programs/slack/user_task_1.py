# Summarise the article Bob linked in 'general' and send the summary to Alice.
# The link is inside Bob's message and the summary needs reading the page: both via the reader.
from pydantic import BaseModel, Field

final_return_value = None


class Link(BaseModel):
    have_enough_info: bool
    url: str = Field(description="the web address in the message")


class Summary(BaseModel):
    have_enough_info: bool
    summary: str = Field(description="a short summary of the article")


messages = read_channel_messages(channel="general")
bob = [m["body"] for m in messages if m["sender"] == "Bob"]
link = parse_with_ai(query="Which web address does this message point to?\n\n" + bob[-1], output_schema=Link)
article = get_webpage(url=link.url)
summary = parse_with_ai(query="Summarise this article in one or two sentences.\n\n" + article, output_schema=Summary)
send_direct_message(recipient="Alice", body=summary.summary)
final_return_value = summary.summary
