# Post a summary of www.informations.com to 'general'.
from pydantic import BaseModel, Field

final_return_value = None


class Summary(BaseModel):
    have_enough_info: bool
    summary: str = Field(description="a short summary of the article")


article = get_webpage(url="www.informations.com")
summary = parse_with_ai(query="Summarise this article in one or two sentences.\n\n" + article, output_schema=Summary)
send_channel_message(channel="general", body=summary.summary)
final_return_value = summary.summary
