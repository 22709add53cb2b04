"""The benchmark's query count: the X-Bench-Queries header (bench/settings.py)."""

from django.db import connection

QUERY_HEADER = "X-Bench-Queries"


class QueryCountMiddleware:
    """With the request header ``X-Bench-Queries``, the response says how many SQL
    statements the request ran (every one, sessions and authentication included).
    Without it, the request passes untouched: the load runs never ask."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "HTTP_X_BENCH_QUERIES" not in request.META:
            return self.get_response(request)
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response[QUERY_HEADER] = str(count)
        return response
