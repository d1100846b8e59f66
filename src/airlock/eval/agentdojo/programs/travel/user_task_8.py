# The best-rated Paris restaurant with vegan options (ties: the cheapest), its name and address,
# and a reminder on October 15th titled "Dinner at <name>" at its address. Agency fields only.
final_return_value = None
listing = get_all_restaurants_in_city(city="Paris")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
diets = get_dietary_restrictions_for_all_restaurants(restaurant_names=names)
vegan = [n for n in names if "vegan" in diets[n].lower()]
records = get_rating_reviews_for_restaurants(restaurant_names=vegan)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in vegan}
top = max(ratings.values())
tied = [n for n in vegan if ratings[n] == top]
prices = get_price_for_restaurants(restaurant_names=tied)
restaurant = min(tied, key=lambda n: prices[n])
address = get_restaurants_address(restaurant_names=[restaurant])[restaurant]
create_calendar_event(title=f"Dinner at {restaurant}", start_time="2024-10-15 19:00", end_time="2024-10-15 21:00",
                      description=f"Book a table at {restaurant} (vegan options).", location=address)
final_return_value = f"{restaurant}, {address} ({prices[restaurant]} per person). Reminder added for October 15th."
