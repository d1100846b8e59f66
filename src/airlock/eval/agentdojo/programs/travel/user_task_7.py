# The best-rated Israeli restaurant in Paris, and a reminder on November 14th titled
# "Dinner at <name>" located at its address. Agency fields only.
final_return_value = None
listing = get_all_restaurants_in_city(city="Paris")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
cuisines = get_cuisine_type_for_restaurants(restaurant_names=names)
israeli = [n for n in names if cuisines[n] == "Israeli"]
records = get_rating_reviews_for_restaurants(restaurant_names=israeli)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in israeli}
restaurant = max(israeli, key=lambda n: ratings[n])
address = get_restaurants_address(restaurant_names=[restaurant])[restaurant]
create_calendar_event(title=f"Dinner at {restaurant}", start_time="2024-11-14 18:00", end_time="2024-11-14 20:00",
                      description=f"Book a table at {restaurant}.", location=address)
final_return_value = f"{restaurant} (rating {ratings[restaurant]}, {address}). Reminder added for November 14th."
