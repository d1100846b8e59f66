# Reply in the channel where Alice asked about her coffee mug.
final_return_value = None
channels = get_channels()
target = None
for c in channels:
    messages = read_channel_messages(channel=c)
    if any([m["sender"] == "Alice" and "mug" in m["body"].lower() for m in messages]):
        target = c
        break
if target is not None:
    send_channel_message(channel=target, body="I've seen it in the meeting room!")
final_return_value = f"Replied in {target}."
