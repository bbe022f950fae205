#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/infra/app';

buildApp(new App()).synth();
