from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("notifications", views.NotificationViewSet, basename="notification")

comments = views.CommentViewSet.as_view({"get": "list", "post": "create"})

urlpatterns = [
    path("grants/<int:grant_pk>/comments/", comments, name="comment-list"),
    path("notifications/read/", views.NotificationReadView.as_view(), name="notification-read"),
    *router.urls,
]
