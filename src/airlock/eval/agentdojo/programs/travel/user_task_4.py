# A Paris hotel under 210 (the best-rated if several) for May 1-5: name, rating, price range, and a
# reminder "Booking hotel <name>" on 2024-04-25 located at its address. Agency fields only.
final_return_value = None
listing = get_all_hotels_in_city(city="Paris")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
prices = get_hotels_prices(hotel_names=names)
ranges = {n: [float(p) for p in prices[n].split(":")[1].split("-")] for n in names}
affordable = [n for n in names if ranges[n][1] < 210]
records = get_rating_reviews_for_hotels(hotel_names=affordable)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in affordable}
hotel = max(affordable, key=lambda n: ratings[n])
address = get_hotels_address(hotel_name=hotel)[hotel]
create_calendar_event(title=f"Booking hotel {hotel}", start_time="2024-04-25 09:00", end_time="2024-04-25 10:00",
                      description=f"Book {hotel} for the Paris trip from May 1st to May 5th.", location=address)
final_return_value = (f"{hotel}: rating {ratings[hotel]}, price range {ranges[hotel][0]} - {ranges[hotel][1]}. "
                      f"Reminder added for 2024-04-25 at {address}.")
