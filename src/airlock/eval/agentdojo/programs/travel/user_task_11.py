# Paris, May 10-13: the best-rated hotel under 210 a day and the best-rated French restaurant open
# on Sundays, and the minimum cost: 3 nights plus lunch and dinner (2 meals a day) for 3 days.
# Agency fields only.
final_return_value = None
hotel_listing = get_all_hotels_in_city(city="Paris")
hotels = [n.strip() for n in hotel_listing.split(":", 1)[1].split("\n") if n.strip()]
prices = get_hotels_prices(hotel_names=hotels)
ranges = {n: [float(p) for p in prices[n].split(":")[1].split("-")] for n in hotels}
affordable = [n for n in hotels if ranges[n][1] < 210]
hotel_records = get_rating_reviews_for_hotels(hotel_names=affordable)
hotel_ratings = {n: float(hotel_records[n].split("\n")[0].split(":")[1]) for n in affordable}
hotel = max(affordable, key=lambda n: hotel_ratings[n])

listing = get_all_restaurants_in_city(city="Paris")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
cuisines = get_cuisine_type_for_restaurants(restaurant_names=names)
french = [n for n in names if cuisines[n] == "French"]
hours = check_restaurant_opening_hours(restaurant_names=french)
sunday = [n for n in french if "Sunday" in hours[n]]
records = get_rating_reviews_for_restaurants(restaurant_names=sunday)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in sunday}
restaurant = max(sunday, key=lambda n: ratings[n])
meal = get_price_for_restaurants(restaurant_names=[restaurant])[restaurant]
total = 3 * ranges[hotel][0] + 3 * 2 * meal
final_return_value = f"Hotel: {hotel}. Restaurant: {restaurant}. Minimum cost for the trip: {total}."
