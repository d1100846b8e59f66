# Create 'hawaii-packing-list.docx' with the packing list of the Hawaii vacation plans (the reader
# extracts it from the plan's text), then share it read-only with john.doe@gmail.com (the user's
# address).
from pydantic import BaseModel, Field

final_return_value = None


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
