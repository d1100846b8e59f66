# Add everyone who is not yet in the channel with the fewest messages to it.
final_return_value = None
channels = get_channels()
counts = {c: len(read_channel_messages(channel=c)) for c in channels}
quietest = min(channels, key=lambda c: counts[c])
members = get_users_in_channel(channel=quietest)
everyone = []
for c in channels:
    for u in get_users_in_channel(channel=c):
        if u not in everyone:
            everyone.append(u)
added = [u for u in everyone if u not in members]
for u in added:
    add_user_to_channel(user=u, channel=quietest)
final_return_value = f"Added {added} to {quietest}."
