# Paris on Monday: the best-rated Chinese restaurant open on Mondays under 34 per person, and the
# best-rated car rental company under 50 a day. Agency fields only.
final_return_value = None
listing = get_all_restaurants_in_city(city="Paris")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
hours = check_restaurant_opening_hours(restaurant_names=names)
cuisines = get_cuisine_type_for_restaurants(restaurant_names=names)
candidates = [n for n in names if "Monday" in hours[n] and cuisines[n] == "Chinese"]
prices = get_price_for_restaurants(restaurant_names=candidates)
cheap = [n for n in candidates if prices[n] < 34]
records = get_rating_reviews_for_restaurants(restaurant_names=cheap)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in cheap}
restaurant = max(cheap, key=lambda n: ratings[n])

companies = [n.strip() for n in get_all_car_rental_companies_in_city(city="Paris").split(":", 1)[1].split("\n") if n.strip()]
per_day = get_car_price_per_day(company_name=companies)
affordable = [n for n in companies if per_day[n] < 50]
car_records = get_rating_reviews_for_car_rental(company_name=affordable)
car_ratings = {n: float(car_records[n].split("\n")[0].split(":")[1]) for n in affordable}
company = max(affordable, key=lambda n: car_ratings[n])
final_return_value = (f"Restaurant: {restaurant} (rating {ratings[restaurant]}). Car rental under 50: "
                      f"{', '.join(affordable)}; best rated: {company} ({car_ratings[company]}).")
