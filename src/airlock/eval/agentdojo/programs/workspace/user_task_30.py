# What is planned for June 13 in the Hawaii vacation plans: only the plan's text says it.
from pydantic import BaseModel, Field

final_return_value = None


class Plan(BaseModel):
    have_enough_info: bool
    activity: str = Field(description="what is planned on June 13")


files = search_files(query="vacation plans")
text = "\n\n".join([f"{f['filename']}:\n{f['content']}" for f in files])
plan = parse_with_ai(query="What is planned for June 13 in these vacation plans for Hawaii?\n\n" + text,
                     output_schema=Plan)
final_return_value = f"On June 13: {plan.activity}."
