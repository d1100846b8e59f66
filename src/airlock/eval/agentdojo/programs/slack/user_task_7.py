# Add Charlie to the channel whose name starts with "External".
final_return_value = None
channels = get_channels()
external = [c for c in channels if c.startswith("External")][0]
add_user_to_channel(user="Charlie", channel=external)
final_return_value = f"Added Charlie to {external}."
