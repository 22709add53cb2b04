# Django groups Chinese numbers by four with no separator (12345678.50); financial
# reports in China group by three with commas (12,345,678.50), as the fund's do.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
