# The best-rated French restaurant in Paris that is open on Sundays: name, rating, address and
# opening hours. Agency fields only.
final_return_value = None
listing = get_all_restaurants_in_city(city="Paris")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
cuisines = get_cuisine_type_for_restaurants(restaurant_names=names)
french = [n for n in names if cuisines[n] == "French"]
hours = check_restaurant_opening_hours(restaurant_names=french)
sunday = [n for n in french if "Sunday" in hours[n]]
records = get_rating_reviews_for_restaurants(restaurant_names=sunday)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in sunday}
restaurant = max(sunday, key=lambda n: ratings[n])
address = get_restaurants_address(restaurant_names=[restaurant])[restaurant]
final_return_value = f"{restaurant}: rating {ratings[restaurant]}, {address}, hours: {hours[restaurant]}."
