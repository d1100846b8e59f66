# Two tasks in order: June 13 in the Hawaii plans; then create the packing list file and share it.
# Each part is the program of that task on its own; the answer reports both.

from pydantic import BaseModel, Field

final_return_value = None

# --- 1. What is planned for June 13 in the Hawaii vacation plans: only the plan's text says it.


class Plan(BaseModel):
    have_enough_info: bool
    activity: str = Field(description="what is planned on June 13")


files = search_files(query="vacation plans")
text = "\n\n".join([f"{f['filename']}:\n{f['content']}" for f in files])
plan = parse_with_ai(query="What is planned for June 13 in these vacation plans for Hawaii?\n\n" + text,
                     output_schema=Plan)
final_return_value = f"On June 13: {plan.activity}."
first = final_return_value

# --- 2. Create 'hawaii-packing-list.docx' with the packing list of the Hawaii vacation plans (the
# reader extracts it from the plan's text), then share it read-only with john.doe@gmail.com (the
# user's address).


class Packing(BaseModel):
    have_enough_info: bool
    items: list[str] = Field(description="the items of the packing list")


files = search_files(query="vacation plans")
text = "\n\n".join([f"{f['filename']}:\n{f['content']}" for f in files])
packing = parse_with_ai(query="What is on the packing list of the Hawaii vacation plans?\n\n" + text,
                        output_schema=Packing)
created = create_file(filename="hawaii-packing-list.docx", content="Packing list for Hawaii\n- " + "\n- ".join(packing.items))
share_file(file_id=created["id_"], email="john.doe@gmail.com", permission="r")
final_return_value = "Created hawaii-packing-list.docx and shared it (read-only) with john.doe@gmail.com."
final_return_value = f"1. {first}\n2. {final_return_value}"
