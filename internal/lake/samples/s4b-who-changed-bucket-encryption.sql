  Select config.eventdata.resourceId, config.eventData.resourceType, config.eventdata.configurationItemCaptureTime,
      cloudtrail.recipientAccountId, cloudtrail.awsRegion, cloudtrail.sourceIPAddress, cloudtrail.userAgent,
      cloudtrail.userIdentity.arn, cloudtrail.userIdentity.type, cloudtrail.userIdentity.sessionContext.sessionIssuer.userName,
      config.eventData.resourceType,
      element_at(config.eventdata.supplementaryConfiguration, 'ServerSideEncryptionConfiguration') as ServerSideEncryptionConfiguration
  from $CLOUDTRAIL_EDS_ID as cloudtrail
  join $CONFIG_EDS_ID as config on config.eventdata.resourceId = element_at(cloudtrail.requestParameters, 'bucketName')
  where cloudtrail.eventname = 'PutBucketEncryption'
      and (cloudtrail.eventTime >= '2022-11-17 00:00:00' and cloudtrail.eventTime <= '2022-11-19 00:00:00')
      and element_at(config.eventdata.supplementaryConfiguration, 'ServerSideEncryptionConfiguration') is not null
      and config.eventData.resourceType = 'AWS::S3::Bucket'
      order by config.eventdata.configurationItemCaptureTime desc;
  