# IDs of the files shared with alex.martin@bluesparrowtech.com (the drive's own sharing records).
final_return_value = None
files = list_files()
ids = [f["id_"] for f in files if "alex.martin@bluesparrowtech.com" in f["shared_with"]]
final_return_value = "Files shared with alex.martin@bluesparrowtech.com: " + ", ".join(ids)
