from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("offers", views.OfferViewSet, basename="offer")
router.register("requests", views.RequestViewSet, basename="exchange-request")

urlpatterns = router.urls
