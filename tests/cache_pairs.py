"""Question pairs for the semantic cache: near misses that must never share an answer, rewordings that should.

Near misses are the hard cases for embeddings (MiniLM rates several of them above 0.95): the same words
with another entity or number, negation, swapped roles, "how many X" vs "how many Y", opposite extremes.
"""

NEAR_MISSES = [
    ("How many vacation days do employees get?", "How many sick days do employees get?"),
    ("How many moons does Mars have?", "How many moons does Jupiter have?"),
    ("How far is Mars from the Sun?", "How far is Venus from the Sun?"),
    ("What was the revenue in 2022?", "What was the revenue in 2023?"),
    ("What was revenue in Q3 2023?", "What was revenue in Q2 2023?"),
    ("Is remote work allowed?", "Is remote work not allowed?"),
    ("Can employees work from home on Fridays?", "Can't employees work from home on Fridays?"),
    ("Which planets have rings?", "Which planets have no rings?"),
    ("How many employees work in Berlin?", "How many employees work in Paris?"),
    ("What is the boiling point of water?", "What is the freezing point of water?"),
    ("What is the maximum temperature of the heat pump?", "What is the minimum temperature of the heat pump?"),
    ("Who is the CEO of the company?", "Who is the CFO of the company?"),
    ("How long is the probation period?", "How long is the notice period?"),
    ("What is the refund policy for laptops?", "What is the refund policy for phones?"),
    ("How many days of parental leave are given?", "How many weeks of parental leave are given?"),
    ("Does the policy cover dental care?", "Does the policy cover vision care?"),
    ("Is Mars bigger than Venus?", "Is Venus bigger than Mars?"),
    ("What is the COP of the heat pump at 7 °C?", "What is the COP of the heat pump at -7 °C?"),
    ("What happened in 1969?", "What happened in 1996?"),
    ("How many people died of COVID-19 in Italy?", "How many people died of COVID-19 in Spain?"),
    ("What is the incubation period of SARS-CoV-2?", "What is the infectious period of SARS-CoV-2?"),
    ("How much does the basic plan cost?", "How much does the premium plan cost?"),
    ("What are the side effects of ibuprofen?", "What are the side effects of paracetamol?"),
    ("What is the first step of the onboarding process?", "What is the last step of the onboarding process?"),
    ("Which employees are eligible for the bonus?", "Which employees are not eligible for the bonus?"),
    ("How many vacation days do part-time employees get?", "How many vacation days do full-time employees get?"),
    ("What is the deadline for expense reports?", "What is the deadline for timesheets?"),
    ("What is the mass of Earth?", "What is the mass of the Moon?"),
    ("How old do you have to be to apply?", "How old do you have to be to retire?"),
    ("When does the office open?", "When does the office close?"),
    ("Who approves travel requests?", "Who submits travel requests?"),
    ("What is the price per kWh in winter?", "What is the price per kWh in summer?"),
    ("How many vacation days after 5 years?", "How many vacation days after 10 years?"),
    ("Does smoking cause cancer?", "Does cancer cause smoking?"),
    ("Are flights from Leeds to Lisbon refunded?", "Are flights from Lisbon to Leeds refunded?"),
    ("When does the office open?", "Where does the office open?"),
    ("How many employees does the company have?", "How much does the company pay employees?"),
    ("Can employees carry over unused leave?", "Must employees carry over unused leave?"),
    ("What is the notice period after 2 years?", "What is the notice period after 2 months?"),
    ("Who is the CEO of the company?", "Who was the CEO of the company?"),
    (
        "How many days of annual leave do full-time employees get?",
        "How many days of annual leave do part-time employees get?",
    ),
]

# Rewordings that must be answered from the cache (same content words in the same order).
REWORDINGS = [
    ("How many vacation days do employees get?", "how many vacation days do employees get"),
    ("What is the vacation policy?", "What's the vacation policy?"),
    ("What is the vacation policy?", "Tell me about the vacation policy."),
    ("What is the vacation policy?", "What are the vacation policies?"),
    ("How far is Mars from the Sun?", "how far is mars from the sun??"),
    ("Can employees work from home on Fridays?", "Can employees work from home on Friday?"),
    ("What is the incubation period of SARS-CoV-2?", "What's the incubation period of SARS-CoV-2?"),
    ("Who approves travel requests?", "Who approves the travel requests?"),
    ("What is the refund policy for laptops?", "Please explain the refund policy for laptops."),
    (
        "How many days of annual leave do full-time employees get?",
        "  HOW MANY DAYS OF ANNUAL LEAVE DO FULL-TIME EMPLOYEES GET ? ",
    ),
    (
        "How many days of annual leave do full-time employees get?",
        "Can you tell me how many days of annual leave full-time employees get?",
    ),
    ("Which planets have rings?", "Which planets have rings"),
]

# Same meaning, but the words move: the cache deliberately misses these (a miss costs one answer; a
# wrong hit gives a wrong answer, and word order is what tells "Is Mars bigger than Venus?" apart).
REORDERED = [
    ("How far is Mars from the Sun?", "How far from the Sun is Mars?"),
    ("What is the COP of the heat pump at 7 °C?", "What's the heat pump's COP at 7 °C?"),
]
