  SELECT eventData.configuration, eventData.accountId, eventData.awsRegion, eventData.resourceId,
      eventData.resourceName, eventData.resourceType, eventData.availabilityZone, eventData.resourceCreationTime
  FROM $CONFIG_EDS_ID
  WHERE eventTime > '2022-11-21 00:00:00' AND eventTime < '2022-11-22 00:00:00'
  ORDER BY eventData.resourceCreationTime DESC limit 10;
  