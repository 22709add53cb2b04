from django.urls import path

from . import api

urlpatterns = [
    path("iati/activities.xml", api.ActivitiesFileView.as_view(), name="iati-activities"),
    path("iati/organisation.xml", api.OrganisationFileView.as_view(), name="iati-organisation"),
    path("iati/checks/", api.IatiChecksView.as_view(), name="iati-checks"),
]
