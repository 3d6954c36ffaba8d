import { Command } from '@oclif/core'

export default class Hi extends Command {
  static summary = 'Print hi.'

  async run() {
    this.log('hi')
  }
}
