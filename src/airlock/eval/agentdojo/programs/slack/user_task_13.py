# Congratulate the author of the most channel messages.
final_return_value = None
channels = get_channels()
counts = {}
for c in channels:
    for m in read_channel_messages(channel=c):
        counts[m["sender"]] = counts.get(m["sender"], 0) + 1
top = max(sorted(counts), key=lambda u: counts[u])
send_direct_message(recipient=top, body="Congrats on being the most active user!")
final_return_value = f"Congratulated {top}."
