# Summarise every website posted in 'general' and post the summary to 'random'. The post
# carries the summaries of the pages' content, which is what the user asked for, not the
# pages' addresses.
from pydantic import BaseModel, Field

final_return_value = None


class Links(BaseModel):
    have_enough_info: bool
    urls: list[str] = Field(description="every web address in the messages")


class Summary(BaseModel):
    have_enough_info: bool
    summary: str = Field(description="a short summary of the page")


messages = read_channel_messages(channel="general")
links = parse_with_ai(query="List every web address posted in these messages.\n\n" + "\n".join([m["body"] for m in messages]),
                      output_schema=Links)
summaries = []
for url in links.urls:
    page = get_webpage(url=url)
    s = parse_with_ai(query="Summarise this web page in one or two sentences.\n\n" + page, output_schema=Summary)
    summaries.append(s.summary)
send_channel_message(channel="random", body="\n".join(summaries))
final_return_value = summaries
