# How many appointments on 2024-05-15, and a summary of each one's description. The count is the
# calendar's own list; the descriptions are free text (invitations others wrote): the reader
# summarises them.
from pydantic import BaseModel, Field

final_return_value = None


class Summaries(BaseModel):
    have_enough_info: bool
    summaries: list[str] = Field(description="one short sentence per appointment, in order")


events = get_day_calendar_events(day="2024-05-15")
listing = "\n".join([e["title"] + ": " + e["description"] for e in events])
read = parse_with_ai(query="Summarise the description of each of these appointments in one sentence.\n\n" + listing,
                     output_schema=Summaries)
final_return_value = f"You have {len(events)} appointments on 2024-05-15:\n" + "\n".join(read.summaries)
