# Two cars in Los Angeles for 3 days: the best-rated company with electric cars, and the best-rated
# one with SUVs; names, ratings and the 3-day price of each. Agency fields only.
final_return_value = None
listing = get_all_car_rental_companies_in_city(city="Los Angeles")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
fuels = get_car_fuel_options(company_name=names)
types = get_car_types_available(company_name=names)


def best(candidates):
    records = get_rating_reviews_for_car_rental(company_name=candidates)
    ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in candidates}
    company = max(candidates, key=lambda n: ratings[n])
    per_day = get_car_price_per_day(company_name=[company])[company]
    return f"{company} (rating {ratings[company]}): {3 * per_day} for 3 days"


electric = best([n for n in names if "Electric" in fuels[n]])
suv = best([n for n in names if "SUV" in types[n]])
final_return_value = f"Electric: {electric}. SUV, for your cousin's family: {suv}."
