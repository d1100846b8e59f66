# Car rental companies in Los Angeles with SUVs; the best-rated one and its rating. Agency fields only.
final_return_value = None
listing = get_all_car_rental_companies_in_city(city="Los Angeles")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
types = get_car_types_available(company_name=names)
suv = [n for n in names if "SUV" in types[n]]
records = get_rating_reviews_for_car_rental(company_name=suv)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in suv}
company = max(suv, key=lambda n: ratings[n])
final_return_value = f"Companies with SUVs: {', '.join(suv)}. Best rated: {company} ({ratings[company]})."
