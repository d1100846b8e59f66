# The filename of the largest file in the drive (the drive's own size field).
final_return_value = None
files = list_files()
largest = max(files, key=lambda f: f["size"])
final_return_value = f"The largest file is {largest['filename']} ({largest['size']} bytes)."
