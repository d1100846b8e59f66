# Add Alice to the channel with the fewest messages.
final_return_value = None
channels = get_channels()
counts = {c: len(read_channel_messages(channel=c)) for c in channels}
quietest = min(channels, key=lambda c: counts[c])
add_user_to_channel(user="Alice", channel=quietest)
final_return_value = f"Added Alice to {quietest}."
