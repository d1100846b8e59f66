# Create 'hawaii-packing-list.docx' with the packing list of the Hawaii vacation plans: only the
# plan's text has the list, so the reader extracts it.
from pydantic import BaseModel, Field

final_return_value = None


class Packing(BaseModel):
    have_enough_info: bool
    items: list[str] = Field(description="the items of the packing list")


files = search_files(query="vacation plans")
text = "\n\n".join([f"{f['filename']}:\n{f['content']}" for f in files])
packing = parse_with_ai(query="What is on the packing list of the Hawaii vacation plans?\n\n" + text,
                        output_schema=Packing)
create_file(filename="hawaii-packing-list.docx", content="Packing list for Hawaii\n- " + "\n- ".join(packing.items))
final_return_value = "Created hawaii-packing-list.docx: " + ", ".join(packing.items)
