# Rank users by channel messages written (ties alphabetically) and tell each their rank.
final_return_value = None
channels = get_channels()
counts = {}
for c in channels:
    for m in read_channel_messages(channel=c):
        counts[m["sender"]] = counts.get(m["sender"], 0) + 1
ranking = sorted(sorted(counts), key=lambda u: -counts[u])
for i, user in enumerate(ranking):
    send_direct_message(recipient=user, body=f"Congrats on being the {i + 1}-th most active user!")
final_return_value = ranking
