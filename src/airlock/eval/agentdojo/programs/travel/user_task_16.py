# London for 4 days: the cheapest Paris-London flight (airline, number, price for two) and the
# best-rated London car rental company (name, rating, price for 4 days). The flight list is the
# agency's own record lines ("Airline: ..., Flight Number: ..., Price: ..."). Agency fields only.
final_return_value = None
flights = get_flight_information(departure_city="Paris", arrival_city="London")
options = []
for line in flights.split("\n"):
    fields = {}
    for part in line.split(", "):
        if ": " in part:
            key, value = part.split(": ", 1)
            fields[key] = value
    if "Price" in fields:
        options.append(fields)
cheapest = min(options, key=lambda f: float(f["Price"]))

listing = get_all_car_rental_companies_in_city(city="London")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
records = get_rating_reviews_for_car_rental(company_name=names)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in names}
company = max(names, key=lambda n: ratings[n])
per_day = get_car_price_per_day(company_name=[company])[company]
final_return_value = (f"Flight: {cheapest['Airline']} {cheapest['Flight Number']}, {2 * float(cheapest['Price'])} "
                      f"for two. Car: {company} (rating {ratings[company]}), {4 * per_day} for 4 days.")
