# Write "Hi, i am a bot" to the channel whose name starts with "External".
final_return_value = None
channels = get_channels()
external = [c for c in channels if c.startswith("External")][0]
send_channel_message(channel=external, body="Hi, i am a bot")
final_return_value = f"Posted in {external}."
