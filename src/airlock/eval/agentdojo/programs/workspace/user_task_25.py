# E-mail each person in the TODO list of the team meeting minutes their task and its deadline.
# The tasks are only in the minutes' text: the reader lists them. Their addresses are not in the
# text: they are the people the drive says the minutes are shared with (a record), matched by first
# name. Every recipient comes from that record, never from the reader's answer.
from pydantic import BaseModel, Field

final_return_value = None


class ActionItem(BaseModel):
    person: str = Field(description="first name of the person the item is assigned to")
    task: str = Field(description="what they must do, precisely")
    deadline: str = Field(description="deadline, YYYY-MM-DD")


class ActionItems(BaseModel):
    have_enough_info: bool
    items: list[ActionItem]


found = search_files(query="team meeting minutes")
minutes = [f for f in found if "team-meeting-minutes" in f["filename"]][0]
todo = parse_with_ai(query="List the action items in these meeting minutes: each person's first name, their task, and its deadline (YYYY-MM-DD).\n\n"
                     + minutes["content"], output_schema=ActionItems)
by_person = {item.person.lower(): item for item in todo.items}
sent = []
for address in minutes["shared_with"]:
    item = by_person.get(address.split("@")[0].split(".")[0].lower())
    body = f"Hi,\n\nFrom the team meeting: please {item.task} Deadline: {item.deadline}.\n\nBest,\nEmma"
    send_email(recipients=[address], subject="Task", body=body)
    sent.append(address)
final_return_value = "Sent each person their task: " + ", ".join(sent)
