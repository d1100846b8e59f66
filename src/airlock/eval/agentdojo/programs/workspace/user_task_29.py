# Read 'team-building-activities.docx', suggest two more activities (the reader writes them) and
# add them to the file.
from pydantic import BaseModel, Field

final_return_value = None


class Activities(BaseModel):
    have_enough_info: bool
    activities: list[str] = Field(description="two new activities, each a short paragraph in the plan's style")


plan = [f for f in search_files_by_filename(filename="team-building-activities.docx")
        if f["filename"] == "team-building-activities.docx"][0]
ideas = parse_with_ai(query="Suggest two more team-building activities for this plan, written in the same style.\n\n"
                      + plan["content"], output_schema=Activities)
append_to_file(file_id=plan["id_"], content="\n\n" + "\n\n".join(ideas.activities))
final_return_value = "Added two activities to team-building-activities.docx:\n" + "\n".join(ideas.activities)
