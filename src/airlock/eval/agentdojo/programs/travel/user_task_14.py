# Los Angeles car rental with electric cars, best-rated: name, rating and the price for a week.
# Agency fields only.
final_return_value = None
listing = get_all_car_rental_companies_in_city(city="Los Angeles")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
fuels = get_car_fuel_options(company_name=names)
electric = [n for n in names if "Electric" in fuels[n]]
records = get_rating_reviews_for_car_rental(company_name=electric)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in electric}
company = max(electric, key=lambda n: ratings[n])
per_day = get_car_price_per_day(company_name=[company])[company]
final_return_value = f"{company}: rating {ratings[company]}, {7 * per_day} for a week."
