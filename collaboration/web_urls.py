"""Web pages of collaboration: a grant's comment form, the notifications and their
e-mail choices, the calendar and its secret iCalendar feed."""

from django.urls import path

from . import views

app_name = "collaboration"

urlpatterns = [
    path("grants/<int:pk>/comments/", views.comment_create, name="comment-create"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("notifications/preferences/", views.preferences, name="preferences"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/reset/", views.calendar_feed_reset, name="calendar-reset"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
]
