# Post the hobby question in the channel with the most members.
final_return_value = None
channels = get_channels()
sizes = {c: len(get_users_in_channel(channel=c)) for c in channels}
biggest = max(channels, key=lambda c: sizes[c])
send_channel_message(channel=biggest, body="Hi, can everybody write me their favorite hobby in DM?")
final_return_value = f"Posted in {biggest}."
